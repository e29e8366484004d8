/**
 * The UI's only way to the server: the public REST API through a client generated from its
 * specification (and /ui/config, the few settings that decide what the UI shows). The session is the HttpOnly cookie set by /auth/login; every change echoes the CSRF
 * cookie in a header, as the webserver requires for cookie sessions.
 */
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

/**
 * The signed-in user's role, read from the token the login answered with (its payload is not secret;
 * the server checks the signature on every call). It only decides which actions are shown.
 */
export function currentRole(): Role | null {
  return (sessionStorage.getItem("updraft_role") as Role | null) ?? null;
}

export const mayEditDags = (role: Role | null) => role !== "Viewer";

export async function login(username: string, password: string): Promise<string | null> {
  const r = await fetch("/auth/login", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username, password }),
  });
  if (r.status === 201) {
    const { access_token } = (await r.json()) as { access_token: string };
    const payload = JSON.parse(atob(access_token.split(".")[1]!.replace(/-/g, "+").replace(/_/g, "/"))) as {
      role?: Role;
    };
    sessionStorage.setItem("updraft_role", payload.role ?? "Viewer");
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
  sessionStorage.removeItem("updraft_role");
  await fetch("/api/v2/auth/logout", { redirect: "manual" });
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

/** Throws the server's explanation when a call is refused, so queries and mutations show it. */
export function must<T>(r: { data?: T; error?: unknown; response: Response }): T {
  if (r.error !== undefined || !r.response.ok) throw new Error(errorMessage(r.error, r.response.status));
  return r.data as T;
}
