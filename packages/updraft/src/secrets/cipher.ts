/**
 * Encryption at rest for connection passwords, extras and secret variables: AES-256-GCM with a
 * random 96-bit IV per value. Stored values describe themselves (`enc:v1:...`) so a future key or
 * algorithm change can tell old values from new.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { UpdraftError } from "../core/errors.ts";

const PREFIX = "enc:v1:";
const IV_BYTES = 12;
const TAG_BYTES = 16;

export class SecretDecryptError extends UpdraftError {
  constructor() {
    super(
      "CONFIG_INVALID",
      "a stored secret could not be decrypted: the encryption key in updraft.toml [security] encryption_key does not match the one the value was written with (or the value was altered)",
    );
    this.name = "SecretDecryptError";
  }
}

export function generateKey(): string {
  return randomBytes(32).toString("base64url");
}

function decodeKey(key: string): Buffer {
  const bytes = Buffer.from(key, "base64url");
  if (bytes.length !== 32) {
    throw new UpdraftError(
      "CONFIG_INVALID",
      `[security] encryption_key must be 32 bytes in base64url (43 characters), got ${bytes.length} bytes: generate one with node -e "console.log(require('crypto').randomBytes(32).toString('base64url'))"`,
    );
  }
  return bytes;
}

export function createCipher(key: string) {
  const secret = decodeKey(key);
  return {
    encrypt(plain: string): string {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv("aes-256-gcm", secret, iv);
      const body = Buffer.concat([cipher.update(plain, "utf8"), cipher.final()]);
      return PREFIX + Buffer.concat([iv, body, cipher.getAuthTag()]).toString("base64url");
    },
    decrypt(stored: string): string {
      if (!stored.startsWith(PREFIX)) throw new SecretDecryptError();
      const raw = Buffer.from(stored.slice(PREFIX.length), "base64url");
      if (raw.length < IV_BYTES + TAG_BYTES) throw new SecretDecryptError();
      try {
        const decipher = createDecipheriv("aes-256-gcm", secret, raw.subarray(0, IV_BYTES));
        decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
        return Buffer.concat([decipher.update(raw.subarray(IV_BYTES, raw.length - TAG_BYTES)), decipher.final()]).toString("utf8");
      } catch {
        throw new SecretDecryptError();
      }
    },
    isEncrypted(stored: string): boolean {
      return stored.startsWith(PREFIX);
    },
  };
}

export type SecretCipher = ReturnType<typeof createCipher>;
