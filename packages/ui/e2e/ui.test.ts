/**
 * The UI in a real browser (Debian's chromium through playwright-core) against a real
 * `updraft standalone` on a temporary UPDRAFT_HOME: log in as the generated admin, find an example
 * DAG, switch it on, trigger it and see its run succeed. Screenshots go to docs/screenshots/.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { chromium, type Browser, type Page } from "playwright-core";

const CHROMIUM = process.env.UPDRAFT_TEST_CHROMIUM ?? "/usr/bin/chromium";
const ROOT = new URL("../../../", import.meta.url).pathname;
const SCREENSHOTS = join(ROOT, "docs", "screenshots");
const missing = !existsSync(CHROMIUM);
if (missing) {
  const line = `chromium is not at ${CHROMIUM} (apt-get install chromium): the browser tests are SKIPPED`;
  if (process.env.CI === "true")
    throw new Error(`CI=true and ${line.replace("are SKIPPED", "cannot be skipped")}`);
  console.error(`\n!!! ${line}\n`);
}

const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

let home: string;
let standalone: ChildProcess;
let browser: Browser;
let page: Page;
let base: string;
let token: string;

before(async () => {
  if (missing) return;
  home = mkdtempSync(join(tmpdir(), "updraft-ui-"));
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  standalone = spawn(process.execPath, [join(ROOT, "packages/updraft/bin/updraft.js"), "standalone"], {
    env: {
      ...process.env,
      UPDRAFT_HOME: home,
      UPDRAFT__API__PORT: String(port),
      UPDRAFT__API__HOST: "127.0.0.1",
      UPDRAFT__METRICS__SCHEDULER_PORT: "0",
      UPDRAFT__SCHEDULER__LOOP_INTERVAL: "0.2",
    },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  standalone.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  for (let i = 0; ; i++) {
    const up = await fetch(`${base}/api/v2/monitor/health`).then(
      (r) => r.ok,
      () => false,
    );
    if (up && existsSync(join(home, "standalone_admin_password.txt"))) break;
    if (i > 600) throw new Error(`updraft standalone did not come up in 60 s:\n${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const password = readFileSync(join(home, "standalone_admin_password.txt"), "utf8").trim();
  token = (
    (await (
      await fetch(`${base}/auth/token`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ username: "admin", password }),
      })
    ).json()) as { access_token: string }
  ).access_token;
  browser = await chromium.launch({
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
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  mkdirSync(SCREENSHOTS, { recursive: true });
});

after(async () => {
  await browser?.close();
  if (standalone && standalone.exitCode === null) {
    standalone.kill("SIGTERM");
    await new Promise((resolve) => standalone.once("exit", resolve));
  }
  if (home) rmSync(home, { recursive: true, force: true });
});

const apiGet = async (path: string) =>
  (await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}` } })).json() as Promise<any>; // eslint-disable-line @typescript-eslint/no-explicit-any

test(
  "log in, find an example DAG, switch it on, trigger it and see the run succeed",
  { skip: missing },
  async () => {
    await page.goto(base);
    await page.getByLabel("Username").fill("admin");
    await page.getByLabel("Password").fill("wrong");
    await page.getByRole("button", { name: "Log in" }).click();
    await page.getByRole("alert").filter({ hasText: "Invalid username or password" }).waitFor();
    const password = readFileSync(join(home, "standalone_admin_password.txt"), "utf8").trim();
    await page.getByLabel("Password").fill(password);
    await page.getByRole("button", { name: "Log in" }).click();
    await page.getByRole("heading", { name: "DAGs" }).waitFor();
    await page.getByText("example_etl", { exact: true }).waitFor();
    await page.screenshot({ path: join(SCREENSHOTS, "dags.png"), fullPage: true });

    await page.getByLabel("Search DAG id").fill("etl");
    await page.waitForURL(/search=etl/);
    await page.getByText("example_taskflow", { exact: true }).waitFor({ state: "detached" });
    const active = page.getByRole("switch", { name: "example_etl active" });
    await active.click();
    await page.waitForFunction(
      () => (document.querySelector('[aria-label="example_etl active"]') as HTMLInputElement)?.checked,
    );
    await page.waitForFunction(
      async (auth) =>
        (await (await fetch("/api/v2/dags/example_etl", { headers: { authorization: auth } })).json())
          .is_paused === false,
      `Bearer ${token}`,
    );
    page.once("dialog", (dialog) => void dialog.accept());
    await page
      .getByRole("row", { name: /example_etl/ })
      .getByRole("button", { name: "Trigger" })
      .click();
    const notice = await page.getByRole("status").filter({ hasText: "Triggered example_etl" }).textContent();
    const runId = notice!.replace(/^.*run /, "").trim();
    for (let i = 0; ; i++) {
      const run = await apiGet(`/api/v2/dags/example_etl/dagRuns/${encodeURIComponent(runId)}`);
      if (run.state === "success") break;
      assert.notEqual(run.state, "failed", "the triggered run failed");
      if (i > 600) assert.fail(`run ${runId} did not succeed in 60 s (state ${run.state})`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }

    // The DAG's page: the run, its task instances, and a task's log with the bash task's output.
    await page.getByRole("link", { name: "example_etl" }).click();
    await page.waitForURL(/\/dags\/example_etl/);
    await page.getByRole("region", { name: "Runs" }).getByRole("button", { name: runId }).click();
    const tasks = page.getByRole("region", { name: "Task instances" });
    await tasks.getByRole("button", { name: /success report/ }).click();
    await page.waitForURL(/task=report/);
    await page
      .getByRole("region", { name: "Log" })
      .getByText(/total for \d{4}-\d\d-\d\d/)
      .waitFor();
    await page.screenshot({ path: join(SCREENSHOTS, "dag-log.png"), fullPage: true });
  },
);

test(
  "a viewer sees the DAGs but no actions, and the API refuses the viewer a trigger",
  { skip: missing },
  async () => {
    const created = spawn(
      process.execPath,
      [
        join(ROOT, "packages/updraft/bin/updraft.js"),
        "users",
        "create",
        "-u",
        "val",
        "-r",
        "Viewer",
        "--password-stdin",
      ],
      { env: { ...process.env, UPDRAFT_HOME: home }, stdio: ["pipe", "ignore", "inherit"] },
    );
    created.stdin!.end("viewer-pass-1\n");
    assert.equal(await new Promise((resolve) => created.once("exit", resolve)), 0, "users create failed");
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const viewer = await context.newPage();
    await viewer.goto(base);
    await viewer.getByLabel("Username").fill("val");
    await viewer.getByLabel("Password").fill("viewer-pass-1");
    await viewer.getByRole("button", { name: "Log in" }).click();
    await viewer.getByText("example_params", { exact: true }).waitFor();
    const row = viewer.getByRole("row", { name: /example_params/ });
    assert.equal(await row.getByRole("button", { name: "Trigger" }).count(), 0, "no Trigger for a viewer");
    assert.equal(await row.getByRole("switch").isDisabled(), true, "the pause switch is read-only");
    // The server decides, not the page: the viewer's own session is refused a trigger.
    const refused = await viewer.evaluate(async () => {
      const csrf = document.cookie.match(/(?:^|; )updraft_csrf=([^;]+)/)?.[1] ?? "";
      const r = await fetch("/api/v2/dags/example_params/dagRuns", {
        method: "POST",
        headers: { "content-type": "application/json", "x-csrf-token": decodeURIComponent(csrf) },
        body: JSON.stringify({ logical_date: null }),
      });
      return { status: r.status, body: await r.text() };
    });
    assert.equal(refused.status, 403);
    assert.match(refused.body, /Your role \(Viewer\) may not do this/);
    const runs = await apiGet("/api/v2/dags/example_params/dagRuns");
    assert.equal(runs.total_entries, 0, "nothing was triggered");
    await context.close();
  },
);
