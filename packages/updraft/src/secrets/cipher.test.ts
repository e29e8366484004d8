import assert from "node:assert/strict";
import { createCipheriv, randomBytes } from "node:crypto";
import { describe, test } from "node:test";
import { UpdraftError } from "../core/errors.ts";
import { createCipher, generateKey, SecretDecryptError } from "./cipher.ts";

const KEY = generateKey();
const cipher = createCipher(KEY);

function payload(stored: string): Buffer {
  return Buffer.from(stored.slice("enc:v1:".length), "base64url");
}

function stored(raw: Buffer): string {
  return `enc:v1:${raw.toString("base64url")}`;
}

function assertDecryptFails(value: string, reason: RegExp, using = cipher): void {
  assert.throws(
    () => using.decrypt(value),
    (error) =>
      error instanceof SecretDecryptError &&
      error.code === "SECRET_DECRYPT_FAILED" &&
      reason.test(error.message),
  );
}

describe("generateKey", () => {
  test("32 random bytes in base64url", () => {
    const key = generateKey();
    assert.match(key, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(Buffer.from(key, "base64url").length, 32);
    assert.notEqual(key, generateKey());
  });
});

describe("encrypt and decrypt", () => {
  for (const plain of ["", "hunter2", "Zürich – 日本語 – 😀 – \u0000\n\t", "x".repeat(100_000)]) {
    test(`round trip of ${JSON.stringify(plain.slice(0, 20))} (${plain.length} chars)`, () => {
      const value = cipher.encrypt(plain);
      assert.ok(cipher.isEncrypted(value));
      assert.equal(cipher.decrypt(value), plain);
    });
  }

  test("stored format: enc:v1: then base64url(iv 12 | ciphertext | tag 16)", () => {
    const plain = "päss";
    const value = cipher.encrypt(plain);
    assert.match(value, /^enc:v1:[A-Za-z0-9_-]+$/);
    assert.equal(payload(value).length, 12 + Buffer.byteLength(plain) + 16);
  });

  test("decrypts a value built by hand in the documented layout (format stability)", () => {
    const key = randomBytes(32);
    const iv = randomBytes(12);
    const aes = createCipheriv("aes-256-gcm", key, iv);
    const body = Buffer.concat([aes.update("known answer", "utf8"), aes.final()]);
    const value = stored(Buffer.concat([iv, body, aes.getAuthTag()]));
    assert.equal(createCipher(key.toString("base64url")).decrypt(value), "known answer");
  });

  test("a random IV each time: equal plaintexts encrypt differently", () => {
    const first = cipher.encrypt("same");
    const second = cipher.encrypt("same");
    assert.notEqual(first, second);
    assert.notDeepEqual(payload(first).subarray(0, 12), payload(second).subarray(0, 12));
    assert.equal(cipher.decrypt(first), cipher.decrypt(second));
  });

  test("isEncrypted recognises only the enc:v1: prefix", () => {
    assert.equal(cipher.isEncrypted("plain text"), false);
    assert.equal(cipher.isEncrypted(""), false);
    assert.equal(cipher.isEncrypted("enc:v2:abc"), false);
    assert.equal(cipher.isEncrypted("enc:v1:abc"), true);
  });
});

describe("tampering and wrong keys", () => {
  const value = cipher.encrypt("a secret worth keeping");
  const raw = payload(value);
  const flips = { iv: 0, ciphertext: 12, tag: raw.length - 1 };

  for (const [part, index] of Object.entries(flips)) {
    test(`a flipped bit in the ${part} is detected`, () => {
      const altered = Buffer.from(raw);
      altered[index] = (altered[index] ?? 0) ^ 0x01;
      assertDecryptFails(stored(altered), /does not match the one the value was written with/);
    });
  }

  test("truncated, extended and malformed values are rejected", () => {
    assertDecryptFails(stored(raw.subarray(0, raw.length - 1)), /does not match/);
    assertDecryptFails(stored(Buffer.concat([raw, Buffer.from([0])])), /does not match/);
    assertDecryptFails(stored(raw.subarray(0, 27)), /not in Updraft's enc:v1: format/);
    assertDecryptFails("enc:v1:", /format/);
    assertDecryptFails("plain text", /format/);
    assertDecryptFails(value.replace("enc:v1:", "enc:v2:"), /format/);
    assertDecryptFails(`${value.slice(0, 20)}!${value.slice(21)}`, /format/);
  });

  test("a different key cannot decrypt, and the error says which setting to check", () => {
    const other = createCipher(generateKey());
    assertDecryptFails(
      value,
      /the encryption key in updraft\.toml \[security\] encryption_key does not match/,
      other,
    );
  });
});

describe("invalid keys", () => {
  const cases: Record<string, string> = {
    empty: "",
    "too short": randomBytes(16).toString("base64url"),
    "too long": randomBytes(33).toString("base64url"),
    "standard base64 alphabet": "+/" + randomBytes(32).toString("base64url").slice(2),
    "stray characters": `${generateKey().slice(0, 40)}*?!`,
  };
  for (const [name, key] of Object.entries(cases)) {
    test(`${name} is rejected with a clear message that does not echo the key`, () => {
      assert.throws(
        () => createCipher(key),
        (error) =>
          error instanceof UpdraftError &&
          error.code === "CONFIG_INVALID" &&
          /\[security\] encryption_key .* 32 random bytes in base64url/.test(error.message) &&
          /randomBytes\(32\)/.test(error.message) &&
          (key.length < 8 || !error.message.includes(key)),
      );
    });
  }

  test("surrounding whitespace and '=' padding are tolerated", () => {
    const key = generateKey();
    const value = createCipher(key).encrypt("x");
    assert.equal(createCipher(` ${key}=\n`).decrypt(value), "x");
  });
});
