/**
 * Task Execution API tokens: a JWT per try, scoped to one task instance and one try number (Airflow
 * 3's model). The scheduler mints one when it hands a try to the queue; it travels with the job, and
 * it is all a worker ever holds to talk about that try. The key is derived from the installation's
 * API secret with its own label, so a try token is never a user's token and the reverse: a worker
 * learns nothing that signs anything else.
 *
 * Fencing over HTTP: a token names its try number, and every write it makes is fenced by that number
 * in the database (storage/task-instances.ts). A token of a try that was replaced (presumed dead,
 * cleared) matches no row: refused.
 */
import { hkdfSync } from "node:crypto";
import { jwtVerify, SignJWT } from "jose";

export interface TryClaims {
  dagId: string;
  runId: string;
  taskId: string;
  mapIndex: number;
  /** The try this token speaks for: the try number its start makes. */
  tryNumber: number;
}

export interface TryTokens {
  /** A token for `claims`, valid `ttlSeconds` (default: the configured lifetime). */
  issue(claims: TryClaims, ttlSeconds?: number): Promise<string>;
  /** The claims, or null for a token that is invalid, expired or signed with another key. */
  verify(token: string): Promise<TryClaims | null>;
  readonly ttlSeconds: number;
}

const AUDIENCE = "updraft:execution";

/** The try tokens' key, from [api] secret_key (or, without one, the encryption key, as the API's). */
export function tryTokenKey(secretKey: string, encryptionKey: string): Uint8Array {
  const root = secretKey || encryptionKey;
  if (!root)
    throw new Error(
      "no [api] secret_key (nor [security] encryption_key) to sign Task Execution API tokens with: the scheduler and the webserver need the same secret_key",
    );
  return new Uint8Array(hkdfSync("sha256", root, "updraft", "task execution api tokens", 32));
}

export function tryTokens(key: Uint8Array, ttlSeconds: number): TryTokens {
  return {
    ttlSeconds,
    issue: (c, ttl = ttlSeconds) =>
      new SignJWT({ dag: c.dagId, run: c.runId, task: c.taskId, map: c.mapIndex, try: c.tryNumber })
        .setProtectedHeader({ alg: "HS256" })
        .setSubject(`${c.dagId}/${c.runId}/${c.taskId}/${c.mapIndex}`)
        .setIssuedAt()
        .setAudience(AUDIENCE)
        .setExpirationTime(`${Math.max(1, Math.round(ttl))}s`)
        .sign(key),
    async verify(token) {
      try {
        const { payload: p } = await jwtVerify(token, key, { audience: AUDIENCE, algorithms: ["HS256"] });
        if (
          typeof p.dag !== "string" ||
          typeof p.run !== "string" ||
          typeof p.task !== "string" ||
          typeof p.map !== "number" ||
          typeof p.try !== "number"
        )
          return null;
        return { dagId: p.dag, runId: p.run, taskId: p.task, mapIndex: p.map, tryNumber: p.try };
      } catch {
        return null;
      }
    },
  };
}
