/**
 * The UI's only way to the server: the public REST API through a client generated from its
 * specification. The session is the HttpOnly cookie set by /auth/login; every change echoes the CSRF
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

export async function login(username: string, password: string): Promise<string | null> {
  const r = await fetch("/auth/login", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username, password }),
  });
  if (r.status === 201) return null;
  const body = (await r.json().catch(() => ({}))) as { detail?: unknown };
  return typeof body.detail === "string" ? body.detail : `login failed (${r.status})`;
}

export async function logout(): Promise<void> {
  await fetch("/api/v2/auth/logout", { redirect: "manual" });
}
