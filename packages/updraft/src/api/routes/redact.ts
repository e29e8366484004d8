/**
 * Masking of secrets in API answers, as Airflow's secrets masker does it: values under sensitive key
 * names become "***" (passwords, tokens, keys, ...), in JSON objects too. Secret variables and
 * connection passwords are never sent in clear; a "***" sent back in a change means "keep the stored
 * value", so a client can read, edit and write back an object without destroying its secrets.
 */
import { isSecretExtra } from "../../connections/types.ts";
import { isSensitiveKey } from "../../core/sensitive.ts";

export { isSensitiveKey };
export const MASK = "***";

/**
 * A JSON value with every value under a sensitive key replaced by "***", `depth` levels deep;
 * `secret` says which keys are sensitive (default: Airflow's sensitive names).
 */
export function redactJson(
  value: unknown,
  depth = 5,
  secret: (key: string) => boolean = isSensitiveKey,
): unknown {
  if (depth <= 0 || value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map((item) => redactJson(item, depth - 1, secret));
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => [
      key,
      secret(key) ? MASK : redactJson(item, depth - 1, secret),
    ]),
  );
}

function parseObject(text: string | null): Record<string, unknown> | undefined {
  if (text === null) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === "object" && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A connection's extra as the API shows it: sensitive keys masked at any depth, and the extra fields
 * its type declares secret (connections/types.ts).
 */
export function redactExtra(extra: string | null, connType?: string | null): string | null {
  if (extra === null) return null;
  const object = parseObject(extra);
  // An extra that is not a JSON object cannot be masked key by key, so none of it is shown.
  return object === undefined
    ? MASK
    : JSON.stringify(redactJson(object, 5, (key) => isSecretExtra(connType, key)));
}

/** A variable's value as the API shows it: "***" when secret, else sensitive keys of a JSON object masked. */
export function redactVariableValue(key: string, value: string, isSecret: boolean): string {
  if (isSecret || isSensitiveKey(key)) return MASK;
  const object = parseObject(value);
  return object === undefined ? value : JSON.stringify(redactJson(object, 1));
}

/**
 * A new extra sent by a client that may contain "***" where it read masked values: those keys take
 * the stored values again (at any depth, where the stored extra has the same key).
 */
export function unmaskExtra(sent: string | null, stored: string | null): string | null {
  const next = parseObject(sent);
  const previous = parseObject(stored);
  if (!next || !previous || !JSON.stringify(next).includes(`"${MASK}"`)) return sent;
  const merge = (a: unknown, b: unknown): unknown => {
    if (a === MASK) return b;
    if (a === null || typeof a !== "object" || Array.isArray(a)) return a;
    if (b === null || typeof b !== "object" || Array.isArray(b)) return a;
    const old = b as Record<string, unknown>;
    return Object.fromEntries(Object.entries(a).map(([k, v]) => [k, k in old ? merge(v, old[k]) : v]));
  };
  return JSON.stringify(merge(next, previous));
}
