/**
 * A real SMTP server on loopback for tests (the smtp-server package), keeping every message it
 * receives parsed (mailparser): tests send through the real client and read the mail back.
 * Options: plain SMTP, STARTTLS offered or hidden, SMTPS with a self-signed certificate made by
 * openssl, and a password the server insists on.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { simpleParser, type ParsedMail } from "mailparser";
import { SMTPServer } from "smtp-server";
import { freePort } from "./distributed.ts";

export interface ReceivedMail {
  /** The envelope's sender and recipients (bcc included). */
  envelope: { from: string; to: string[] };
  /** Whether the session was encrypted (SMTPS or after STARTTLS). */
  secure: boolean;
  parsed: ParsedMail;
}

export interface TestSmtpServer {
  port: number;
  received: ReceivedMail[];
  /** Resolves once `count` messages have arrived (rejects after `ms`). */
  waitFor(count: number, ms?: number): Promise<ReceivedMail[]>;
  close(): Promise<void>;
}

export interface TestSmtpOptions {
  /** SMTPS: TLS from the first byte, with a self-signed certificate. */
  secure?: boolean;
  /** Offer STARTTLS (with a self-signed certificate); default false: a plain server. */
  starttls?: boolean;
  /** Require this login; default: no authentication. */
  auth?: { user: string; pass: string };
}

export async function startSmtpServer(options: TestSmtpOptions = {}): Promise<TestSmtpServer> {
  const port = await freePort();
  const received: ReceivedMail[] = [];
  const tls = options.secure || options.starttls ? selfSignedCertificate() : {};
  const server = new SMTPServer({
    secure: options.secure ?? false,
    ...tls,
    hideSTARTTLS: !options.starttls,
    authOptional: !options.auth,
    // A plain server refuses STARTTLS outright (hiding it is not enough: clients may still try).
    disabledCommands: [...(options.auth ? [] : ["AUTH"]), ...(options.starttls ? [] : ["STARTTLS"])],
    allowInsecureAuth: true,
    logger: false,
    onAuth(auth, _session, callback) {
      const ok = auth.username === options.auth?.user && auth.password === options.auth?.pass;
      callback(ok ? null : new Error("535 authentication failed"), ok ? { user: auth.username } : undefined);
    },
    onData(stream, session, callback) {
      simpleParser(stream)
        .then((parsed) => {
          received.push({
            envelope: {
              from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
              to: session.envelope.rcptTo.map((r) => r.address),
            },
            secure: session.secure,
            parsed,
          });
          callback();
        })
        .catch((error: Error) => callback(error));
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  // A client that gives up (a certificate it refuses) is the server's error event: expected in tests.
  server.on("error", () => undefined);
  return {
    port,
    received,
    async waitFor(count, ms = 20_000) {
      const deadline = Date.now() + ms;
      while (received.length < count) {
        if (Date.now() > deadline)
          throw new Error(`the SMTP server got ${received.length} of ${count} messages`);
        await new Promise((r) => setTimeout(r, 50));
      }
      return received;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

let certificate: { key: Buffer; cert: Buffer } | undefined;

/** A throwaway key and certificate for 127.0.0.1 (openssl), made once per test process. */
function selfSignedCertificate(): { key: Buffer; cert: Buffer } {
  if (certificate) return certificate;
  const dir = mkdtempSync(join(tmpdir(), "updraft-smtp-cert-"));
  try {
    execFileSync(
      "openssl",
      ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"].concat([
        "-keyout",
        join(dir, "key.pem"),
        "-out",
        join(dir, "cert.pem"),
      ]),
      { stdio: "ignore" },
    );
    certificate = { key: readFileSync(join(dir, "key.pem")), cert: readFileSync(join(dir, "cert.pem")) };
    return certificate;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
