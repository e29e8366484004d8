/**
 * Encryption at rest for connection passwords, extras and secret variables: AES-256-GCM with a fresh
 * random 96-bit IV per value. Stored values describe themselves (`enc:v1:<base64url(iv|ciphertext|tag)>`)
 * so a later key or algorithm change can tell old values from new ones.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { UpdraftError } from "../core/errors.ts";

const PREFIX = "enc:v1:";
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const BASE64URL = /^[A-Za-z0-9_-]*$/;
const GENERATE_HINT = `generate one with: node -e "console.log(require('node:crypto').randomBytes(32).toString('base64url'))"`;

export class SecretDecryptError extends UpdraftError {
  constructor(problem: string) {
    super("SECRET_DECRYPT_FAILED", `cannot decrypt a stored secret: ${problem}`);
    this.name = "SecretDecryptError";
  }
}

const KEY_MISMATCH =
  "the encryption key in updraft.toml [security] encryption_key does not match the one the value was written with (or the value was altered); restore the original key, or set the secret again";
const MALFORMED = `the stored value is not in Updraft's ${PREFIX} format (it was altered or not written by Updraft); set the secret again`;

export function generateKey(): string {
  return randomBytes(KEY_BYTES).toString("base64url");
}

/** Strict, because Buffer.from(..., "base64url") skips stray characters and would hide a mangled key. */
function decodeKey(key: string): Buffer {
  const text = key.trim().replace(/=+$/, "");
  const bytes = BASE64URL.test(text) ? Buffer.from(text, "base64url") : undefined;
  if (bytes?.length === KEY_BYTES) return bytes;
  // The key itself is never echoed: it is a secret.
  const problem = bytes
    ? `it decodes to ${bytes.length} bytes`
    : "it contains characters outside base64url (A-Z a-z 0-9 - _)";
  throw new UpdraftError(
    "CONFIG_INVALID",
    `[security] encryption_key in updraft.toml must be 32 random bytes in base64url (43 characters), but ${problem}; ${GENERATE_HINT}`,
  );
}

function decryptWith(secret: Buffer, stored: string): string {
  const payload = stored.slice(PREFIX.length);
  if (!stored.startsWith(PREFIX) || !BASE64URL.test(payload)) throw new SecretDecryptError(MALFORMED);
  const raw = Buffer.from(payload, "base64url");
  if (raw.length < IV_BYTES + TAG_BYTES) throw new SecretDecryptError(MALFORMED);
  const decipher = createDecipheriv("aes-256-gcm", secret, raw.subarray(0, IV_BYTES), {
    authTagLength: TAG_BYTES,
  });
  decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
  try {
    return Buffer.concat([
      decipher.update(raw.subarray(IV_BYTES, raw.length - TAG_BYTES)),
      decipher.final(),
    ]).toString("utf8");
  } catch {
    // GCM cannot tell a wrong key from altered bytes: both fail the tag check.
    throw new SecretDecryptError(KEY_MISMATCH);
  }
}

export function createCipher(key: string) {
  const secret = decodeKey(key);
  return {
    encrypt(plain: string): string {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv("aes-256-gcm", secret, iv, { authTagLength: TAG_BYTES });
      const body = Buffer.concat([cipher.update(plain, "utf8"), cipher.final()]);
      return PREFIX + Buffer.concat([iv, body, cipher.getAuthTag()]).toString("base64url");
    },
    decrypt(stored: string): string {
      return decryptWith(secret, stored);
    },
    isEncrypted(stored: string): boolean {
      return stored.startsWith(PREFIX);
    },
  };
}

export type SecretCipher = ReturnType<typeof createCipher>;
