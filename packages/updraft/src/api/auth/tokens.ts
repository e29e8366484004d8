/**
 * API tokens: JWTs (HS256, via jose) carrying the user name and role, as Airflow 3's auth manager
 * issues them. The secret is [api] secret_key, generated into the config on first run; older config
 * files without one derive it from the encryption key, so every webserver of an installation agrees.
 */
import { hkdfSync } from "node:crypto";
import { jwtVerify, SignJWT } from "jose";
import type { Role } from "../../storage/users.ts";

export interface TokenClaims {
  username: string;
  role: Role;
  /** The user's token version when it was issued (`ver`); sessions.ts refuses older ones. */
  version: number;
}

export interface TokenIssuer {
  issue(claims: TokenClaims): Promise<string>;
  /** The claims, or null for a token that is invalid, expired or signed with another secret. */
  verify(token: string): Promise<TokenClaims | null>;
  expiresInSeconds: number;
}

export function signingKey(secretKey: string, encryptionKey: string): Uint8Array {
  if (secretKey) return new TextEncoder().encode(secretKey);
  return new Uint8Array(hkdfSync("sha256", encryptionKey, "updraft", "api jwt signing key", 32));
}

export function tokenIssuer(key: Uint8Array, expiresInSeconds: number): TokenIssuer {
  return {
    expiresInSeconds,
    issue: ({ username, role, version }) =>
      new SignJWT({ role, ver: version })
        .setProtectedHeader({ alg: "HS256" })
        .setSubject(username)
        .setIssuedAt()
        .setAudience("updraft")
        .setExpirationTime(`${expiresInSeconds}s`)
        .sign(key),
    async verify(token) {
      try {
        const { payload } = await jwtVerify(token, key, { audience: "updraft", algorithms: ["HS256"] });
        if (typeof payload.sub !== "string" || typeof payload.role !== "string") return null;
        const version = typeof payload.ver === "number" ? payload.ver : 0;
        return { username: payload.sub, role: payload.role as Role, version };
      } catch {
        return null;
      }
    },
  };
}
