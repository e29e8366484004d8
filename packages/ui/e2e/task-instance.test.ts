/**
 * The task instance page in a real browser against `updraft standalone`: a finished run of
 * example_etl, the report task's log (output, search, download), its tries, clearing it (preview,
 * then it runs again) and marking it failed (preview, then the server holds it); the DAG page's
 * Gantt, Code and Details tabs.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { Browser, Page } from "playwright-core";
import {
  eventually,
  launchBrowser,
  loggedInPage,
  missing,
  SCREENSHOTS,
  startStandalone,
  type Standalone,
} from "./harness.ts";

let server: Standalone;
let browser: Browser;
let page: Page;
let runId: string;

const tiPath = (taskId: string) =>
  `/api/v2/dags/example_etl/dagRuns/${encodeURIComponent(runId)}/taskInstances/${taskId}`;
const tiPage = (taskId: string) =>
  `${server.base}/dags/example_etl/runs/${encodeURIComponent(runId)}/tasks/${taskId}`;

async function runSucceeds() {
  await eventually(
    async () => {
      const run = await server.apiGet(`/api/v2/dags/example_etl/dagRuns/${encodeURIComponent(runId)}`);
      assert.notEqual(run.state, "failed", "the run failed");
      assert.equal(run.state, "success");
    },
    90_000,
    `run ${runId} succeeds`,
  );
}

/** A task that writes for a few seconds, so its log can be watched growing. */
const TALKER = `import { bash, dag } from "updraft";
export default dag({ dagId: "ti_talker", schedule: null, startDate: "2025-01-01" }, () => {
  bash("talk", { command: "for i in 1 2 3 4 5 6 7 8; do echo talking line $i; sleep 0.6; done" });
});`;
/** A task whose log is 100,000 lines: the page must stay quick (only visible lines are drawn). */
const BIG = `import { bash, dag } from "updraft";
export default dag({ dagId: "ti_big_log", schedule: null, startDate: "2025-01-01" }, () => {
  bash("flood", { command: "seq -f 'row %g of the flood' 1 100000" });
});`;

before(async () => {
  if (missing) return;
  server = await startStandalone({ dagFiles: { "ti_talker.ts": TALKER, "ti_big_log.ts": BIG } });
  browser = await launchBrowser();
  page = await loggedInPage(browser, server.base, "admin", server.password);
  assert.equal((await server.apiSend("PATCH", "/api/v2/dags/example_etl", { is_paused: false })).status, 200);
  const triggered = await server.apiSend("POST", "/api/v2/dags/example_etl/dagRuns", { logical_date: null });
  assert.equal(triggered.status, 200, JSON.stringify(triggered.body));
  runId = triggered.body.dag_run_id;
  await runSucceeds();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test(
  "a task instance's page: facts, tries, rendered command, its log searched and downloaded",
  { skip: missing },
  async () => {
    await page.goto(`${tiPage("report")}`);
    await page.getByRole("heading", { name: "report", exact: true }).waitFor();
    const log = page.getByRole("region", { name: "Log" });
    const output = log.getByText(/total for \d{4}-\d\d-\d\d/);
    await output.waitFor();
    const printed = (await output.first().textContent())!.match(/total for \d{4}-\d\d-\d\d/)![0];

    const summary = page.getByRole("region", { name: "Summary" });
    await summary.getByText("success").first().waitFor();
    await summary.getByText(/1 of \d+/).waitFor();
    await page.getByRole("region", { name: "Tries" }).getByRole("button", { name: "Try 1" }).waitFor();
    await page.getByRole("region", { name: "Rendered templates" }).getByText(`echo ${printed}`).waitFor();

    await log.getByLabel("Search the log").fill("total for");
    await page.waitForURL(/log_search=total\+for/);
    await log
      .getByRole("status")
      .filter({ hasText: /^1 of \d+ matches$/ })
      .waitFor();
    await log.getByRole("button", { name: "Next" }).click();
    assert.equal(await log.locator("mark.current").textContent(), "total for");
    await log.getByLabel("Search the log").fill("no such words anywhere");
    await log.getByRole("status").filter({ hasText: "no matches" }).waitFor();
    assert.equal(await log.locator("mark").count(), 0);
    await log.getByLabel("Search the log").fill("total");

    const [download] = await Promise.all([
      page.waitForEvent("download"),
      log.getByRole("button", { name: "Download" }).click(),
    ]);
    assert.match(download.suggestedFilename(), /^example_etl__.*__report__try-1\.log$/);
    const text = readFileSync((await download.path())!, "utf8");
    assert.ok(text.includes(printed), `the downloaded log has the task's output:\n${text}`);
    // After the download: a full-page screenshot resizes the page, and a click right after it can miss.
    await page.screenshot({ path: join(SCREENSHOTS, "task-instance.png"), fullPage: true });

    // A shared link opens the same search.
    await page.goto(`${tiPage("report")}?log_search=${encodeURIComponent(printed)}`);
    assert.equal(
      await page.getByRole("region", { name: "Log" }).locator("mark").first().textContent(),
      printed,
    );

    // A TaskFlow task's result is its XCom, shown as JSON.
    await page.goto(tiPage("total"));
    await page.getByRole("region", { name: "XCom" }).getByText("return_value").waitFor();
    // The value is read after the key is listed ("…" meanwhile).
    const value = page.getByRole("region", { name: "XCom" }).locator("dd pre").first();
    await value.filter({ hasNotText: "…" }).waitFor();
    assert.equal((await value.textContent())?.trim(), "6");
  },
);

test(
  "clearing a task from its page: the preview lists it, and it runs again",
  { skip: missing },
  async () => {
    await page.goto(tiPage("report"));
    await page.getByRole("button", { name: "Clear", exact: true }).click();
    const dialog = page.getByRole("dialog", { name: "Clear report" });
    const preview = dialog.getByRole("table", { name: "Task instances to clear" });
    await preview.waitFor();
    assert.equal(await preview.locator("tbody tr").count(), 1);
    assert.match((await preview.locator("tbody tr").textContent())!, /report.*success/);
    assert.equal(
      (await server.apiGet(tiPath("report"))).try_number,
      1,
      "the preview (a dry run) changed nothing",
    );
    await dialog.getByRole("button", { name: "Clear 1 task instance" }).click();
    await dialog.waitFor({ state: "hidden" });
    await eventually(
      async () => {
        const ti = await server.apiGet(tiPath("report"));
        assert.equal(ti.try_number, 2);
        assert.equal(ti.state, "success");
      },
      90_000,
      "the cleared task ran again",
    );
    await runSucceeds();
    // The page followed it live: the second try is listed and its log shown.
    await page.getByRole("region", { name: "Tries" }).getByRole("button", { name: "Try 2" }).waitFor();
    await page.getByRole("region", { name: "Log" }).getByRole("heading", { name: "Log of try 2" }).waitFor();
    await page
      .getByRole("region", { name: "Log" })
      .getByText(/total for \d{4}/)
      .waitFor();
    await page.getByRole("region", { name: "Tries" }).getByRole("button", { name: "Try 1" }).click();
    await page.waitForURL(/try=1/);
    await page.getByRole("region", { name: "Log" }).getByRole("heading", { name: "Log of try 1" }).waitFor();
  },
);

test(
  "marking a task failed: the preview, then the server holds the new state",
  { skip: missing },
  async () => {
    await page.goto(tiPage("report"));
    await page.getByRole("button", { name: "Mark failed" }).click();
    const dialog = page.getByRole("dialog", { name: "Mark report failed" });
    const preview = dialog.getByRole("table", { name: "Task instances to mark failed" });
    await preview.waitFor();
    assert.match((await preview.locator("tbody").textContent())!, /report/);
    assert.equal((await server.apiGet(tiPath("report"))).state, "success", "the dry run changed nothing");
    await dialog.getByRole("button", { name: "Mark 1 failed" }).click();
    await dialog.waitFor({ state: "hidden" });
    assert.equal((await server.apiGet(tiPath("report"))).state, "failed");
    await page
      .getByRole("navigation", { name: "Breadcrumbs" })
      .getByText("failed", { exact: true })
      .waitFor();
  },
);

test("the DAG page's Gantt, Code and Details tabs", { skip: missing }, async () => {
  const tis = await server.apiGet(
    `/api/v2/dags/example_etl/dagRuns/${encodeURIComponent(runId)}/taskInstances`,
  );
  await page.goto(`${server.base}/dags/example_etl?tab=gantt&run=${encodeURIComponent(runId)}`);
  const gantt = page.getByRole("region", { name: "Gantt chart" });
  await gantt.locator(".gantt-bar").first().waitFor();
  assert.equal(await gantt.locator(".gantt-bar").count(), tis.total_entries);
  for (const ti of tis.task_instances)
    await gantt.getByRole("img", { name: new RegExp(`^${ti.task_id}: ${ti.state}`) }).waitFor();

  await page.getByRole("tab", { name: "Code" }).click();
  await page.waitForURL(/tab=code/);
  const code = page.getByRole("region", { name: "Source code" });
  await code.getByText('command: "echo total for {{ ds }}",').waitFor();
  await code.getByText("example_etl.ts").waitFor();

  await page.getByRole("tab", { name: "Details" }).click();
  await page.waitForURL(/tab=details/);
  const details = page.getByRole("region", { name: "DAG details" });
  await details.getByText("Europe/Amsterdam", { exact: true }).waitFor();
  await details.getByRole("region", { name: "Schedule" }).getByText("Catchup").waitFor();
  await details.getByRole("region", { name: "People" }).getByText("example", { exact: true }).waitFor();
  // example_etl's docMd, as Markdown.
  await details.getByRole("heading", { name: "Daily totals" }).waitFor();
});

test(
  "notes on a task instance and on a run are added, edited and removed in place",
  { skip: missing },
  async () => {
    await page.goto(tiPage("extract"));
    const tiNote = page.getByRole("region", { name: "Note" });
    await tiNote.getByText("No note.").waitFor();
    await tiNote.getByRole("button", { name: "Add note" }).click();
    await tiNote.getByLabel("Note", { exact: true }).fill("looked fine\nchecked by hand");
    await tiNote.getByRole("button", { name: "Save note" }).click();
    await tiNote.getByText("checked by hand").waitFor();
    assert.equal((await server.apiGet(tiPath("extract"))).note, "looked fine\nchecked by hand");

    const runsPage = `${server.base}/dags/example_etl?tab=runs&run=${encodeURIComponent(runId)}`;
    await page.goto(runsPage);
    const runNote = page.getByRole("region", { name: `Note of ${runId}` });
    await runNote.getByRole("button", { name: "Add note" }).click();
    await runNote.getByLabel("Note", { exact: true }).fill("rerun after the outage");
    await runNote.getByRole("button", { name: "Save note" }).click();
    await runNote.getByText("rerun after the outage").waitFor();
    const run = () => server.apiGet(`/api/v2/dags/example_etl/dagRuns/${encodeURIComponent(runId)}`);
    assert.equal((await run()).note, "rerun after the outage");
    // An empty note removes it.
    await runNote.getByRole("button", { name: "Edit note" }).click();
    await runNote.getByLabel("Note", { exact: true }).fill("");
    await runNote.getByRole("button", { name: "Save note" }).click();
    await runNote.getByText("No note.").waitFor();
    assert.equal((await run()).note, null);
  },
);

test(
  "the Browse pages list runs and task instances of every DAG, filtered on the server",
  { skip: missing },
  async () => {
    await page.goto(`${server.base}/`);
    await page
      .getByRole("navigation", { name: "Main" })
      .getByRole("link", { name: "Task instances" })
      .click();
    await page.waitForURL(/\/task-instances$/);
    await page.getByLabel("State").selectOption("success");
    await page.getByLabel("Started").selectOption("today");
    await page.waitForURL(/state=success/);
    const tis = page.getByRole("table", { name: "Task instances" });
    const report = tis.getByRole("link", { name: "report", exact: true });
    await report.first().waitFor();
    const rows = await tis.locator("tbody tr").count();
    const total = (
      await server.apiGet(
        `/api/v2/dags/~/dagRuns/~/taskInstances?state=success&start_date_gte=${encodeURIComponent(
          new Date(Date.now() - 86_400_000).toISOString(),
        )}`,
      )
    ).total_entries;
    assert.ok(rows >= 4 && rows <= total, `${rows} rows of ${total}`);
    await page.getByLabel("DAG id contains").fill("no_such_dag");
    await page.getByLabel("DAG id contains").press("Enter");
    await tis.getByText("No task instances match.").waitFor();
    await report.first().waitFor({ state: "detached" });

    await page.goto(`${server.base}/runs?state=success&dag=etl`);
    const runs = page.getByRole("table", { name: "Runs" });
    await runs.getByRole("link", { name: runId }).click();
    await page.waitForURL(
      (url) => url.pathname === "/dags/example_etl" && url.searchParams.get("run") === runId,
    );
  },
);

test(
  "a running try's log is followed live, reading on from the continuation token",
  { skip: missing },
  async () => {
    await eventually(() => server.apiGet("/api/v2/dags/ti_talker"), 60_000, "ti_talker parsed");
    assert.equal((await server.apiSend("PATCH", "/api/v2/dags/ti_talker", { is_paused: false })).status, 200);
    const run = await server.apiSend("POST", "/api/v2/dags/ti_talker/dagRuns", { logical_date: null });
    const talkerRun = encodeURIComponent(run.body.dag_run_id);
    const logReads: string[] = [];
    const onRequest = (r: { url: () => string }) => {
      if (/\/taskInstances\/talk\/logs\//.test(r.url())) logReads.push(r.url());
    };
    page.on("request", onRequest);
    await page.goto(`${server.base}/dags/ti_talker/runs/${talkerRun}/tasks/talk`);
    const log = page.getByRole("region", { name: "Log" });
    await log.getByText("following live").waitFor({ timeout: 30_000 });
    await log.getByText("talking line 8").waitFor({ timeout: 30_000 });
    await log.getByText("following live").waitFor({ state: "detached", timeout: 30_000 });
    page.off("request", onRequest);
    assert.equal(
      (await server.apiGet(`/api/v2/dags/ti_talker/dagRuns/${talkerRun}/taskInstances/talk`)).state,
      "success",
    );
    for (let i = 1; i <= 8; i++)
      assert.equal(await log.getByText(`talking line ${i}`, { exact: true }).count(), 1);
    assert.equal(
      logReads.filter((u) => !u.includes("token=")).length,
      1,
      "one full read, then only continuations",
    );
    assert.ok(logReads.length > 2, `followed with the token (${logReads.length} reads)`);
  },
);

test("a viewer sees the task instance but no actions", { skip: missing }, async () => {
  assert.equal(
    await server.cli(
      ["users", "create", "-u", "vera", "-r", "Viewer", "--password-stdin"],
      "viewer-pass-2\n",
    ),
    0,
  );
  const viewer = await loggedInPage(browser, server.base, "vera", "viewer-pass-2");
  await viewer.goto(tiPage("report"));
  await viewer
    .getByRole("region", { name: "Log" })
    .getByText(/total for/)
    .first()
    .waitFor();
  for (const name of ["Clear", "Mark success", "Mark failed"])
    assert.equal(
      await viewer.getByRole("button", { name, exact: true }).count(),
      0,
      `no ${name} for a viewer`,
    );
  await viewer.context().close();
});

test(
  "a 100,000-line log opens quickly, draws only what is visible, and search jumps to a match",
  { skip: missing },
  async () => {
    await eventually(() => server.apiGet("/api/v2/dags/ti_big_log"), 60_000, "ti_big_log parsed");
    assert.equal(
      (await server.apiSend("PATCH", "/api/v2/dags/ti_big_log", { is_paused: false })).status,
      200,
    );
    const run = (await server.apiSend("POST", "/api/v2/dags/ti_big_log/dagRuns", { logical_date: null }))
      .body;
    const tiUrl = `/api/v2/dags/ti_big_log/dagRuns/${encodeURIComponent(run.dag_run_id)}/taskInstances/flood`;
    await eventually(
      async () => assert.equal((await server.apiGet(tiUrl)).state, "success"),
      90_000,
      "flood ran",
    );
    const started = Date.now();
    await page.goto(`${server.base}/dags/ti_big_log/runs/${encodeURIComponent(run.dag_run_id)}/tasks/flood`);
    const log = page.getByRole("region", { name: "Log" });
    await log.getByText("row 100000 of the flood", { exact: true }).waitFor();
    const openMs = Date.now() - started;
    const drawn = await log.locator(".log-line").count();
    console.log(
      `# 100,000-line log: shown (tail in view) ${openMs} ms after navigation, ${drawn} lines in the DOM`,
    );
    assert.ok(drawn < 200, `only visible lines are drawn (${drawn})`);
    assert.ok(openMs < 5000, `the big log opens in under 5 s (${openMs} ms)`);
    await log.getByLabel("Search the log").fill("row 77777 of");
    await log.getByRole("status").filter({ hasText: "1 of 1 matches" }).waitFor();
    await log.getByRole("button", { name: "Next" }).click();
    await log.locator("mark.current").filter({ hasText: "row 77777 of" }).waitFor();
  },
);
