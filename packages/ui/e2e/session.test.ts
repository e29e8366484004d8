/**
 * What a daily user trips over between tabs and outages, in a real browser against a real standalone:
 * a second tab of the same browser knows the admin from the session cookie (not from the first tab's
 * storage) and notices a logout in the other tab; a task instance that does not exist says so and stops
 * asking; an unknown `?run=` is an error; with the API stopped the page says the connection is lost,
 * offers a retry, and clears the banner itself once the API is back.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { adminSession, eventually, finishedRun, missing } from "./harness.ts";

const LEVELS_DAG = `import { bash, dag } from "updraft";
export default dag({ dagId: "ui_log_levels", schedule: null, isPausedUponCreation: false }, () => {
  bash("talk", { command: 'echo "INFO hello"; echo "plain words"; echo "WARNING careful" >&2; echo "boom" >&2' });
});`;

const s = adminSession({ dagFiles: { "ui_log_levels.ts": LEVELS_DAG } });

test(
  "a log shows each line's time, stream and level, filters by level, and downloads the same",
  { skip: missing },
  async () => {
    const runId = await finishedRun(s.server, "ui_log_levels", { tasks: 1, state: "success" });
    const page = s.page;
    await page.goto(`${s.server.base}/dags/ui_log_levels/runs/${encodeURIComponent(runId)}/tasks/talk`);
    const log = page.getByRole("log", { name: "Log lines" });
    await log.getByText("boom").waitFor();
    const rows = await log.locator(".log-line").evaluateAll((els) =>
      els.map((el) => ({
        text: el.querySelector(".log-prefix")?.textContent + el.querySelector(".log-text")!.textContent!,
        level: el.getAttribute("data-level"),
        stream: el.getAttribute("data-stream"),
      })),
    );
    const row = (text: string) => rows.find((r) => r.text.endsWith(text))!;
    assert.deepEqual(row("INFO hello"), { ...row("INFO hello"), level: "info", stream: "stdout" });
    assert.deepEqual(row("WARNING careful"), {
      ...row("WARNING careful"),
      level: "warning",
      stream: "stderr",
    });
    assert.deepEqual(row("boom"), { ...row("boom"), level: "error", stream: "stderr" });
    for (const r of rows)
      assert.match(r.text, /^\[\d{4}-\d\d-\d\dT[\d:.]+Z\] /, `a time on every line: ${r.text}`);

    await page.getByLabel("Log level").selectOption("warning");
    await page.waitForURL(/log_level=warning/);
    await log.getByText("plain words").waitFor({ state: "detached" });
    await log.getByText("WARNING careful").waitFor();
    await log.getByText("boom").waitFor();

    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.getByRole("region", { name: "Log" }).getByRole("button", { name: "Download" }).click(),
    ]);
    const text = readFileSync((await download.path())!, "utf8");
    assert.match(text, /^\[[^\]]+\] \{stderr\} ERROR - boom$/m);
    assert.match(text, /^\[[^\]]+\] \{stdout\} INFO - plain words$/m);
    assert.match(text, /^\[[^\]]+\] \{stderr\} WARNING - WARNING careful$/m);
  },
);

test("a task instance the run never had is not found, and is not polled", { skip: missing }, async () => {
  const { base } = s.server;
  const made = await s.server.apiSend("POST", "/api/v2/dags/example_etl/dagRuns", { logical_date: null });
  assert.equal(made.status, 200, JSON.stringify(made.body));
  const runId: string = made.body.dag_run_id;
  const page = s.page;
  let asked = 0;
  page.on("request", (r) => {
    if (r.url().includes("/taskInstances/no_such_task")) asked++;
  });
  await page.goto(`${base}/dags/example_etl/runs/${encodeURIComponent(runId)}/tasks/no_such_task`);
  await page.getByRole("heading", { name: "No such task instance" }).waitFor();
  const before = asked;
  await page.waitForTimeout(5000);
  assert.ok(asked - before <= 0, `no polling after the 404 (${asked - before} more requests)`);

  await page.goto(`${base}/dags/example_etl?tab=graph&run=no_such_run`);
  await page.getByTestId("unknown-run").waitFor();
  assert.match((await page.getByTestId("unknown-run").textContent())!, /no run “no_such_run”/);
});

test(
  "with the API down a banner says so and offers a retry; it clears itself when the API is back",
  { skip: missing },
  async () => {
    const { base } = s.server;
    const page = s.page;
    await page.goto(`${base}/`);
    await page.getByRole("link", { name: "example_etl" }).waitFor();
    await s.server.halt();
    try {
      // any read now fails at the network: moving to another page reads
      await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Pools" }).click();
      await page.getByTestId("connection-lost").waitFor({ timeout: 15_000 });
      await page.getByRole("button", { name: "Retry" }).click();
      await page.waitForTimeout(500);
      assert.equal(await page.getByTestId("connection-lost").count(), 1, "still down after a retry");
    } finally {
      await s.server.resume();
    }
    await page.getByTestId("connection-lost").waitFor({ state: "detached", timeout: 20_000 });
    await page.getByRole("cell", { name: "default_pool" }).first().waitFor({ timeout: 10_000 });
  },
);

test("DAGs sorted by next run list those with no next run last, both ways", { skip: missing }, async () => {
  const { base } = s.server;
  const dags = await eventually(async () => {
    const all = (await s.server.apiGet("/api/v2/dags?limit=100")).dags as {
      next_dagrun_run_after: string | null;
    }[];
    assert.ok(
      all.some((d) => d.next_dagrun_run_after !== null),
      "a scheduled DAG has its next run",
    );
    assert.ok(
      all.some((d) => d.next_dagrun_run_after === null),
      "a DAG without a next run",
    );
    return all;
  });
  assert.ok(dags.length <= 100, "one page of DAGs");
  for (const sort of ["next_dagrun", "-next_dagrun"]) {
    await s.page.goto(`${base}/?sort=${sort}&limit=100`);
    await s.page.getByRole("link", { name: "example_etl" }).waitFor();
    const nextRuns = await s.page.evaluate(() => {
      const headers = [...document.querySelectorAll("thead th")].map((th) => th.textContent ?? "");
      const column = headers.findIndex((h) => h.includes("Next run"));
      return [...document.querySelectorAll("tbody tr")].map(
        (tr) => (tr.children[column]?.textContent ?? "").trim() !== "–",
      );
    });
    assert.ok(nextRuns.length > 2, `rows shown (${nextRuns.length})`);
    assert.deepEqual(
      nextRuns,
      [...nextRuns].sort((a, b) => Number(b) - Number(a)),
      `${sort}: ${nextRuns}`,
    );
  }
});

// Last: a logout ends every session of the user, the harness's token too.
test(
  "a new tab of the browser knows the admin; a logout in one tab is noticed by the other",
  { skip: missing },
  async () => {
    const tab1 = s.page;
    const tab2 = await tab1.context().newPage();
    await tab2.goto(`${s.server.base}/admin/variables`);
    await tab2.getByRole("heading", { name: "Variables" }).waitFor();
    await tab2.getByRole("link", { name: "Users" }).waitFor();
    assert.equal(await tab2.getByText(/may not see variables/).count(), 0);
    await tab2.goto(`${s.server.base}/admin/connections`);
    await tab2.getByRole("heading", { name: "Connections" }).waitFor();
    assert.equal(await tab2.getByText(/may not see connections/).count(), 0);
    await tab2.goto(`${s.server.base}/admin/pools`);
    await tab2.getByRole("button", { name: /edit/i }).first().waitFor();
    assert.match((await tab2.getByTestId("signed-in").textContent())!, /admin \(Admin\)/);

    await tab1.getByRole("button", { name: "Log out" }).click();
    await tab1.getByLabel("Username").waitFor();
    // the other tab learns it without being touched
    await tab2.getByLabel("Username").waitFor({ timeout: 10_000 });
    // logging in again in tab 2 brings tab 1 back too
    await tab2.getByLabel("Username").fill("admin");
    await tab2.getByLabel("Password").fill(s.server.password);
    await tab2.getByRole("button", { name: "Log in" }).click();
    await tab2.getByRole("link", { name: "Users" }).waitFor();
    await tab1.getByRole("link", { name: "Users" }).waitFor({ timeout: 10_000 });
    await tab2.close();
  },
);
