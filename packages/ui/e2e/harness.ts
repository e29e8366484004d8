/**
 * What every browser test needs: a real `updraft standalone` on a temporary UPDRAFT_HOME (with extra
 * DAG files if asked), Debian's chromium through playwright-core, and logging in. Each test file
 * starts its own standalone so files stay independent.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before } from "node:test";
import { chromium, type Browser, type Page } from "playwright-core";

export const CHROMIUM = process.env.UPDRAFT_TEST_CHROMIUM ?? "/usr/bin/chromium";
export const ROOT = new URL("../../../", import.meta.url).pathname;
export const SCREENSHOTS = join(ROOT, "docs", "screenshots");
export const UPDRAFT_BIN = join(ROOT, "packages/updraft/bin/updraft.js");

/** True when chromium is missing here: tests skip, loudly; under CI=true that is an error instead. */
export const missing = !existsSync(CHROMIUM);
if (missing) {
  const line = `chromium is not at ${CHROMIUM} (apt-get install chromium): the browser tests are SKIPPED`;
  if (process.env.CI === "true")
    throw new Error(`CI=true and ${line.replace("are SKIPPED", "cannot be skipped")}`);
  console.error(`\n!!! ${line}\n`);
}

export const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface Standalone {
  base: string;
  home: string;
  /** The generated admin's password. */
  password: string;
  /** A bearer token of the admin, for checking the server's side of what the page did. */
  token: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- test reads of API answers
  apiGet: (path: string) => Promise<any>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  apiSend: (method: string, path: string, body?: unknown) => Promise<{ status: number; body: any }>;
  /** Runs the updraft CLI against this home; resolves with its exit code. */
  cli: (args: string[], stdin?: string) => Promise<number>;
  /** Stops the server process and keeps its home (the API is then down until `resume`). */
  halt: () => Promise<void>;
  /** Starts the server again on the same home and port after `halt`. */
  resume: () => Promise<void>;
  stop: () => Promise<void>;
}

/**
 * Starts `updraft standalone` on a free port. `dagFiles` (name -> source) are written to the home's
 * dags folder first; `env` adds settings (UPDRAFT__SECTION__KEY).
 */
export async function startStandalone(
  options: { dagFiles?: Record<string, string>; env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<Standalone> {
  const home = mkdtempSync(join(tmpdir(), "updraft-ui-"));
  mkdirSync(join(home, "dags"), { recursive: true });
  for (const [name, source] of Object.entries(options.dagFiles ?? {}))
    writeFileSync(join(home, "dags", name), source);
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const env = {
    ...process.env,
    UPDRAFT_HOME: home,
    UPDRAFT__API__PORT: String(port),
    UPDRAFT__API__HOST: "127.0.0.1",
    UPDRAFT__METRICS__SCHEDULER_PORT: "0",
    UPDRAFT__SCHEDULER__LOOP_INTERVAL: "0.2",
    ...options.env,
  };
  const passwordFile = join(home, "standalone_admin_password.txt");
  let child: ChildProcess;
  const launch = async () => {
    child = spawn(process.execPath, [UPDRAFT_BIN, "standalone"], {
      env,
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const deadline = Date.now() + (options.timeoutMs ?? 60_000);
    for (;;) {
      const up = await fetch(`${base}/api/v2/monitor/health`).then(
        (r) => r.ok,
        () => false,
      );
      if (up && existsSync(passwordFile)) break;
      if (child.exitCode !== null)
        throw new Error(`updraft standalone exited (${child.exitCode}):\n${stderr}`);
      if (Date.now() > deadline) throw new Error(`updraft standalone did not come up in time:\n${stderr}`);
      await sleep(100);
    }
  };
  const halt = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      await new Promise((resolve) => child.once("exit", resolve));
    }
  };
  await launch();
  const password = readFileSync(passwordFile, "utf8").trim();
  const tokenAnswer = await fetch(`${base}/auth/token`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: "admin", password }),
  });
  const { access_token: token } = (await tokenAnswer.json()) as { access_token: string };
  const auth = { authorization: `Bearer ${token}` };
  return {
    base,
    home,
    password,
    token,
    apiGet: async (path) => {
      const r = await fetch(`${base}${path}`, { headers: auth });
      assert.ok(r.ok, `GET ${path} answered ${r.status}: ${await r.clone().text()}`);
      return r.json();
    },
    apiSend: async (method, path, body) => {
      const r = await fetch(`${base}${path}`, {
        method,
        headers: { ...auth, ...(body === undefined ? {} : { "content-type": "application/json" }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await r.text();
      return { status: r.status, body: text ? JSON.parse(text) : null };
    },
    cli: (args, stdin) => {
      const run = spawn(process.execPath, [UPDRAFT_BIN, ...args], {
        env: { ...process.env, UPDRAFT_HOME: home },
        stdio: ["pipe", "ignore", "inherit"],
      });
      run.stdin!.end(stdin ?? "");
      return new Promise((resolve) => run.once("exit", (code) => resolve(code ?? 1)));
    },
    halt,
    resume: launch,
    stop: async () => {
      await halt();
      rmSync(home, { recursive: true, force: true });
    },
  };
}

export async function launchBrowser(): Promise<Browser> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

export interface AdminSession {
  server: Standalone;
  browser: Browser;
  /** Logged in as admin. */
  page: Page;
}

/**
 * What most browser tests start with: a standalone (started with these options), a browser and a
 * page logged in as admin, made before the file's tests (after `prepare`, for data the page should
 * find) and stopped after them. Without chromium nothing starts; the tests skip on `missing`.
 */
export function adminSession(
  options: Parameters<typeof startStandalone>[0] = {},
  prepare: (server: Standalone) => Promise<void> = async () => {},
): AdminSession {
  const session = {} as AdminSession;
  before(async () => {
    if (missing) return;
    session.server = await startStandalone(options);
    await prepare(session.server);
    session.browser = await launchBrowser();
    session.page = await loggedInPage(session.browser, session.server.base, "admin", session.server.password);
  });
  after(async () => {
    await session.browser?.close();
    await session.server?.stop();
  });
  return session;
}

/**
 * Waits until `dagId` is parsed with `tasks` tasks, triggers a run of it and waits until the run is in
 * `state`; returns the run's id.
 */
export async function finishedRun(
  server: Standalone,
  dagId: string,
  o: { tasks: number; state: string; runId?: string },
): Promise<string> {
  await eventually(async () =>
    assert.equal((await server.apiGet(`/api/v2/dags/${dagId}/tasks`)).total_entries, o.tasks),
  );
  const made = await server.apiSend("POST", `/api/v2/dags/${dagId}/dagRuns`, {
    logical_date: null,
    ...(o.runId ? { dag_run_id: o.runId } : {}),
  });
  assert.equal(made.status, 200, JSON.stringify(made.body));
  const runId: string = made.body.dag_run_id;
  await eventually(
    async () => {
      const run = await server.apiGet(`/api/v2/dags/${dagId}/dagRuns/${encodeURIComponent(runId)}`);
      assert.equal(run.state, o.state);
    },
    120_000,
    `the run of ${dagId} is ${o.state}`,
  );
  return runId;
}

/** Opens a new page at laptop size and logs in through the login form. */
export async function loggedInPage(
  browser: Browser,
  base: string,
  username: string,
  password: string,
): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1366, height: 800 } });
  const page = await context.newPage();
  await page.goto(base);
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByRole("heading", { name: "DAGs" }).waitFor();
  return page;
}

/** Polls the API until `check` passes (it throws to mean "not yet"); fails after `timeoutMs`. */
export async function eventually<T>(
  check: () => Promise<T>,
  timeoutMs = 60_000,
  what = "condition",
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline)
        throw new Error(`${what} not met in ${timeoutMs} ms: ${(error as Error).message}`, { cause: error });
      await sleep(200);
    }
  }
}
