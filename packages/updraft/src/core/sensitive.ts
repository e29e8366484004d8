/**
 * Which names hold secrets, as Airflow's secrets masker decides it: one owner for the API's
 * redaction, the variables' encryption and the task logs' masker.
 */

/** Key names Airflow treats as sensitive: their values are encrypted and masked everywhere. */
const SENSITIVE = [
  "access_token",
  "api_key",
  "apikey",
  "authorization",
  "passphrase",
  "passwd",
  "password",
  "private_key",
  "secret",
  "token",
];

export function isSensitiveName(name: string): boolean {
  const lower = name.toLowerCase();
  return SENSITIVE.some((word) => lower.includes(word));
}

/** Airflow's DEFAULT_SENSITIVE_FIELDS: the variables' list plus two Google-specific names. */
export function isSensitiveKey(name: string): boolean {
  const lower = name.toLowerCase();
  return isSensitiveName(lower) || lower.includes("keyfile_dict") || lower.includes("service_account");
}

/**
 * The string values under sensitive keys of a JSON text (a connection's extra), any depth; a
 * sensitive key's whole value when it is an object (a key file), as its JSON too. `secretKeys` adds
 * names declared secret by the connection's type (connections/types.ts).
 */
export function sensitiveValues(
  json: string | null | undefined,
  secretKeys: readonly string[] = [],
): string[] {
  const declared = new Set(secretKeys.map((k) => k.toLowerCase()));
  if (!json) return [];
  let root: unknown;
  try {
    root = JSON.parse(json);
  } catch {
    return [];
  }
  const found: string[] = [];
  const walk = (value: unknown, sensitive: boolean, depth: number): void => {
    if (depth > 32 || value === null || value === undefined) return;
    if (typeof value === "string" || typeof value === "number") {
      if (sensitive) found.push(String(value));
      return;
    }
    if (typeof value !== "object") return;
    if (sensitive) found.push(JSON.stringify(value));
    for (const [key, item] of Object.entries(value))
      walk(item, sensitive || isSensitiveKey(key) || declared.has(key.toLowerCase()), depth + 1);
  };
  walk(root, false, 0);
  return found;
}
