/**
 * The UI's only way to the server: the public REST API through a client generated from its
 * specification (and /ui/config, the few settings that decide what the UI shows). The session is the HttpOnly cookie set by /auth/login; every change echoes the CSRF
 * cookie in a header, as the webserver requires for cookie sessions.
 */
import { useQuery } from "@tanstack/react-query";
import createClient, { type Middleware } from "openapi-fetch";
import type { paths } from "../../updraft/src/api/generated/airflow-v2.ts";

const csrf: Middleware = {
  onRequest({ request }) {
    if (request.method !== "GET") {
      const token = document.cookie.match(/(?:^|; )updraft_csrf=([^;]+)/)?.[1];
      if (token) request.headers.set("x-csrf-token", decodeURIComponent(token));
    }
    return request;
  },
};

export const api = createClient<paths>({ baseUrl: window.location.origin, credentials: "same-origin" });
api.use(csrf);

export type Role = "Admin" | "Op" | "User" | "Viewer";

/** Who is signed in (Airflow's `GET /ui/auth/me`), or null when nobody is (401). */
export interface Me {
  id: string;
  username: string;
  role: Role;
}

export const ME_KEY = ["me"] as const;

/**
 * Asks the server who is signed in: the session cookie travels to every tab, so every tab learns the
 * user and role from it rather than from anything the login page kept. A network failure throws (the
 * connection banner handles it); 401 is "nobody".
 */
export async function fetchMe(): Promise<Me | null> {
  const r = await fetch("/ui/auth/me", { credentials: "same-origin" });
  if (r.status === 401) return null;
  if (!r.ok) throw new Error(`the server answered ${r.status}`);
  return (await r.json()) as Me;
}

/** The signed-in user, shared by every component (one request per tab; re-asked on focus). */
export function useMe() {
  return useQuery({ queryKey: ME_KEY, queryFn: fetchMe, staleTime: 30_000, refetchOnWindowFocus: true });
}

/** The signed-in user's role: it only decides which actions are shown (the server decides the rest). */
export function useRole(): Role | null {
  return useMe().data?.role ?? null;
}

/**
 * Logging in or out in one tab is announced to the others through localStorage (its `storage` event
 * fires in every other tab of the browser), so they ask the server again at once.
 */
export const SESSION_SIGNAL = "updraft_session_changed";
const signalSession = () => localStorage.setItem(SESSION_SIGNAL, String(Date.now()));

export const mayEditDags = (role: Role | null) => role !== "Viewer";

export async function login(username: string, password: string): Promise<string | null> {
  const r = await fetch("/auth/login", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username, password }),
  });
  if (r.status === 201) {
    signalSession();
    return null;
  }
  const body = (await r.json().catch(() => ({}))) as { detail?: unknown };
  return typeof body.detail === "string" ? body.detail : `login failed (${r.status})`;
}

/** Settings that decide what the UI shows (GET /ui/config, any signed-in user). */
export interface UiConfig {
  /** `[core] test_connection`: Enabled, Disabled (the button shows, disabled) or Hidden. */
  test_connection: "Enabled" | "Disabled" | "Hidden";
}

export async function uiConfig(): Promise<UiConfig> {
  const r = await fetch("/ui/config", { credentials: "same-origin" });
  if (!r.ok) throw new Error(`the server answered ${r.status}`);
  return (await r.json()) as UiConfig;
}

/** How the connection form shows one standard field of a type (Airflow's ConnectionHookFieldBehavior). */
export interface HookFieldBehavior {
  hidden: boolean;
  title: string | null;
  placeholder: string | null;
}

/** A connection type as the form follows it (GET /ui/connections/hook_meta, Airflow 3's hook metadata). */
export interface HookMeta {
  connection_type: string;
  hook_name: string;
  default_conn_name: string | null;
  standard_fields: Record<
    "description" | "url_schema" | "host" | "port" | "login" | "password",
    HookFieldBehavior
  >;
  extra_fields: Record<
    string,
    {
      value: unknown;
      description: string | null;
      sensitive: boolean;
      schema: { type: string[]; title: string };
    }
  >;
  testable: boolean;
  provider: string;
}

export async function hookMeta(): Promise<HookMeta[]> {
  const r = await fetch("/ui/connections/hook_meta", { credentials: "same-origin" });
  if (!r.ok) throw new Error(`the server answered ${r.status}`);
  return (await r.json()) as HookMeta[];
}

export async function logout(): Promise<void> {
  await fetch("/api/v2/auth/logout", { redirect: "manual" });
  signalSession();
}

/** The server's explanation of a refused call (Airflow's `detail`, a string or validation list). */
export function errorMessage(error: unknown, status?: number): string {
  const detail = (error as { detail?: unknown } | undefined)?.detail;
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail))
    return detail
      .map((d: { loc?: unknown[]; msg?: string }) => `${(d.loc ?? []).join(".")}: ${d.msg ?? ""}`)
      .join("; ");
  return status ? `the server answered ${status}` : "the request failed";
}

/** A call the server refused, with its status (a 404 stops a page's polling: see `isNotFound`). */
export class ApiError extends Error {
  readonly status: number;
  constructor(message: string, status: number) {
    super(message);
    this.status = status;
  }
}

export const isNotFound = (error: unknown) => error instanceof ApiError && error.status === 404;

/** Throws the server's explanation when a call is refused, so queries and mutations show it. */
export function must<T>(r: { data?: T; error?: unknown; response: Response }): T {
  if (r.error !== undefined || !r.response.ok)
    throw new ApiError(errorMessage(r.error, r.response.status), r.response.status);
  return r.data as T;
}
