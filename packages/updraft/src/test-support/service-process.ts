/**
 * Real `updraft` processes for tests: the installed entry point (`bin/updraft.js`, which runs the
 * built `dist/`), a private UPDRAFT_HOME, and the service's JSON log lines collected for assertions.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const PACKAGE = fileURLToPath(new URL("../../", import.meta.url));
export const UPDRAFT_BIN = join(PACKAGE, "bin", "updraft.js");

/**
 * The tests run `dist/`, so it must be built from the sources under test: a stale build would test
 * yesterday's code. Throws with the fix when a source file is newer than the build.
 */
export function assertBuilt(): void {
  const built = join(PACKAGE, "dist", "cli", "main.js");
  let builtAt: number;
  try {
    builtAt = statSync(built).mtimeMs;
  } catch {
    throw new Error(`${built} is missing: run \`npm run build\` in packages/updraft first`);
  }
  const newest = newestSource(join(PACKAGE, "src"));
  if (newest.mtimeMs > builtAt)
    throw new Error(`${newest.path} is newer than ${built}: run \`npm run build\` in packages/updraft first`);
}

function newestSource(dir: string): { path: string; mtimeMs: number } {
  let newest = { path: dir, mtimeMs: 0 };
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    const candidate = entry.isDirectory()
      ? newestSource(path)
      : /(?<!\.test)\.ts$/.test(entry.name) && !path.includes("test-support")
        ? { path, mtimeMs: statSync(path).mtimeMs }
        : newest;
    if (candidate.mtimeMs > newest.mtimeMs) newest = candidate;
  }
  return newest;
}

/** A fresh UPDRAFT_HOME with a dags folder; `env` runs commands against `databaseUrl`. */
export function updraftHome(databaseUrl: string, extra: Record<string, string> = {}) {
  const home = mkdtempSync(join(tmpdir(), "updraft-svc-"));
  mkdirSync(join(home, "dags"));
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    UPDRAFT_HOME: home,
    UPDRAFT__DATABASE__URL: databaseUrl,
    UPDRAFT__CORE__DAGS_FOLDER: join(home, "dags"),
    UPDRAFT__CORE__LOAD_EXAMPLES: "false",
    UPDRAFT__METRICS__SCHEDULER_PORT: "0",
    UPDRAFT__LOGGING__LEVEL: "info",
    ...extra,
  };
  return {
    home,
    dags: join(home, "dags"),
    env,
    remove: () => rmSync(home, { recursive: true, force: true }),
  };
}

/**
 * One `updraft` command to its end. Asynchronous on purpose: a test's fault proxy runs in the test's
 * own event loop, which a synchronous spawn would block (every connection through it would hang).
 */
export function updraft(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [UPDRAFT_BIN, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  return new Promise((resolve) =>
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
}

export interface LogLine {
  msg: string;
  level: number;
  at: number;
  [key: string]: unknown;
}

export interface ServiceProcess {
  readonly child: ChildProcess;
  readonly lines: LogLine[];
  /** Output that was not a JSON log line (a crash's stack trace lands here). */
  readonly other: string[];
  /** Resolves with the first log line (from `after` on) whose msg matches; rejects on exit or timeout. */
  waitFor(msg: RegExp, timeoutMs: number, after?: number): Promise<LogLine>;
  alive(): boolean;
  /** SIGTERM, then the exit code (SIGKILL after `graceMs`). */
  stop(graceMs?: number): Promise<number | null>;
}

/**
 * Starts `updraft <args>` (a service) and collects its log. `detached`: it leads a process group of
 * its own, so a test can kill the whole group as an operator's `kill -9 -PGID` would.
 */
export function startService(
  args: string[],
  env: Record<string, string>,
  o: { detached?: boolean } = {},
): ServiceProcess {
  const child = spawn(process.execPath, [UPDRAFT_BIN, ...args], {
    env,
    stdio: ["ignore", "pipe", "pipe"],
    detached: o.detached ?? false,
  });
  const lines: LogLine[] = [];
  const other: string[] = [];
  const waiters = new Set<() => void>();
  let buffer = "";
  const take = (chunk: Buffer) => {
    buffer += chunk.toString();
    const parts = buffer.split("\n");
    buffer = parts.pop() ?? "";
    for (const text of parts.filter(Boolean)) {
      try {
        lines.push({ ...(JSON.parse(text) as LogLine), at: Date.now() });
      } catch {
        other.push(text);
      }
    }
    for (const wake of waiters) wake();
  };
  child.stdout!.on("data", take);
  child.stderr!.on("data", take);
  const exited = new Promise<number | null>((resolve) =>
    child.on("exit", (code, signal) => {
      for (const wake of waiters) wake();
      resolve(code ?? (signal ? -1 : null));
    }),
  );
  const alive = () => child.exitCode === null && child.signalCode === null;
  return {
    child,
    lines,
    other,
    alive,
    waitFor(msg, timeoutMs, after = 0) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const line = lines.find((l) => l.at >= after && msg.test(l.msg));
          if (line) return done(() => resolve(line));
          if (!alive())
            return done(() =>
              reject(
                new Error(`updraft ${args[0]} exited (${child.exitCode}) before logging ${msg}:\n${tail()}`),
              ),
            );
        };
        const timer = setTimeout(
          () => done(() => reject(new Error(`no log line ${msg} within ${timeoutMs} ms:\n${tail()}`))),
          timeoutMs,
        );
        const done = (settle: () => void) => {
          clearTimeout(timer);
          waiters.delete(check);
          settle();
        };
        waiters.add(check);
        check();
      });
    },
    async stop(graceMs = 15_000) {
      if (!alive()) return exited;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };

  function tail(): string {
    return [
      ...lines.slice(-15).map((l) => `${l.msg} ${l.err ? JSON.stringify(l.err).slice(0, 200) : ""}`),
      ...other.slice(-30),
    ].join("\n");
  }
}

/** Polls `probe` every `everyMs` until it answers something; throws naming `what` after `ms`. */
export async function until<T>(
  what: string,
  ms: number,
  probe: () => Promise<T | undefined>,
  everyMs = 20,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
