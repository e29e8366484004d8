/**
 * Logging in: POST /auth/token {username, password} answers 201 {access_token} (Airflow 3's simple
 * auth manager); the UI gets the same token as an HttpOnly session cookie plus a CSRF cookie whose
 * value it echoes in a header on every change. Repeated failures lock the user for a growing while.
 */
import { randomBytes } from "node:crypto";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { checkRole, userStore } from "../../storage/users.ts";
import type { ApiContext } from "../app.ts";
import { LoginGate, tooMany } from "../auth/login-gate.ts";
import { verifyPassword } from "../auth/passwords.ts";
import { HttpError } from "../errors.ts";

export const SESSION_COOKIE = "_token";
export const CSRF_COOKIE = "updraft_csrf";
export const CSRF_HEADER = "x-csrf-token";

export function registerAuthRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const gate = new LoginGate(ctx.config.values.api.login_failures_per_minute);
  const login = async (body: unknown, ip: string) => {
    const { username, password } = body as { username: string; password: string };
    const users = userStore(ctx.database);
    const now = ctx.now();
    // Counted against the address now, given back if it succeeds (see LoginGate.admit).
    gate.admit(ip);
    // A flood is refused before it writes anything (the claim below is a database write).
    gate.assertRoom();
    // The attempt is claimed (and counted) before the password is hashed: see claimLogin.
    const claim = await users.claimLogin(username, now);
    if (!claim.claimed) {
      const seconds = Math.max(1, Math.ceil((Date.parse(claim.lockedUntil) - Date.parse(now)) / 1000));
      throw tooMany(`Too many failed logins for "${username}": try again in ${seconds} s`, seconds);
    }
    const user = await users.get(username);
    const ok = await gate.hash(() => verifyPassword(password, user?.password_hash ?? null));
    if (!user || !ok || !user.active) {
      ctx.log.warn({ username, ip }, "failed login");
      throw new HttpError(401, "Invalid username or password");
    }
    await users.loginSucceeded(username, now);
    gate.succeeded(ip);
    return ctx.tokens.issue({ username, role: checkRole(user.role), version: user.token_version });
  };
  const schema = {
    body: {
      type: "object",
      properties: { username: { type: "string", minLength: 1 }, password: { type: "string" } },
      required: ["username", "password"],
    },
  };
  app.post("/auth/token", { schema }, async (request, reply) => {
    const token = await login(request.body, request.ip);
    return reply.code(201).send({ access_token: token });
  });

  /** The UI's login: the token as an HttpOnly cookie, and a CSRF cookie the UI can read. */
  app.post("/auth/login", { schema }, async (request, reply) => {
    const token = await login(request.body, request.ip);
    const secure = request.protocol === "https";
    const maxAge = ctx.tokens.expiresInSeconds;
    void reply
      .setCookie(SESSION_COOKIE, token, { httpOnly: true, sameSite: "strict", secure, path: "/", maxAge })
      .setCookie(CSRF_COOKIE, randomBytes(24).toString("base64url"), {
        sameSite: "strict",
        secure,
        path: "/",
        maxAge,
      });
    return reply.code(201).send({ access_token: token });
  });

  app.get("/api/v2/auth/login", async (request, reply) => {
    const next = (request.query as { next?: string }).next ?? "/";
    return reply.redirect(`/login?next=${encodeURIComponent(next)}`, 307);
  });
  /**
   * Logout ends the session for good: the user's token version is raised, so this token, and every
   * other token and session of the user, is refused from the next request on (API ADR A3).
   */
  const logout = async (request: FastifyRequest, reply: FastifyReply) => {
    const header = request.headers.authorization;
    const token = header?.startsWith("Bearer ") ? header.slice(7).trim() : request.cookies[SESSION_COOKIE];
    const claims = token ? await ctx.tokens.verify(token) : null;
    if (claims) {
      await userStore(ctx.database).endSessions(claims.username);
      ctx.sessions.forget(claims.username);
    }
    void reply.clearCookie(SESSION_COOKIE, { path: "/" }).clearCookie(CSRF_COOKIE, { path: "/" });
    return claims;
  };
  app.post("/auth/logout", async (request, reply) => {
    await logout(request, reply);
    return reply.code(204).send();
  });
  app.get("/api/v2/auth/logout", async (request, reply) => {
    await logout(request, reply);
    return reply.redirect("/login", 307);
  });
}
