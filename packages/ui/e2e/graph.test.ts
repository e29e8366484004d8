/**
 * The graph view in a real browser against a real standalone: example_etl's graph follows a run to
 * success live, a task's panel links to its task instance; then a generated DAG of 5,000 tasks opens
 * laid out and drawn, coloured by a run's states, and is saved as docs/screenshots/graph.png (a
 * readable part) and graph-overview.png (zoomed out).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { sql } from "kysely";
import type { Browser, Page } from "playwright-core";
import { openDatabase } from "../../updraft/src/storage/database.ts";
import { bigDagSource, bigDagTasks } from "../bench/big-dag.ts";
import {
  launchBrowser,
  loggedInPage,
  missing,
  SCREENSHOTS,
  startStandalone,
  type Standalone,
} from "./harness.ts";

const BIG = "big_5000_tasks";
const bigTasks = bigDagTasks(5000);
let server: Standalone;
let browser: Browser;
let page: Page;

before(async () => {
  if (missing) return;
  server = await startStandalone({
    dagFiles: { [`${BIG}.ts`]: bigDagSource(BIG, bigTasks) },
    timeoutMs: 120_000,
  });
  browser = await launchBrowser();
  page = await loggedInPage(browser, server.base, "admin", server.password);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const node = (taskId: string) => page.locator(`.react-flow__node[data-id="${taskId}"]`);

test(
  "example_etl's graph follows a run to success; a task's panel links to its instance",
  { skip: missing },
  async () => {
    const { base, apiGet, apiSend } = server;
    await page.goto(`${base}/dags/example_etl?tab=graph`);
    for (const id of ["start", "extract", "total", "report"]) await node(id).waitFor();
    const canvas = page.getByTestId("graph-canvas");
    assert.equal(await canvas.getAttribute("data-tasks"), "4");
    assert.equal(await canvas.getAttribute("data-engine"), "elk");
    // the edges of the DAG are drawn: start -> extract -> total -> report
    await page.locator(".react-flow__edge").nth(2).waitFor({ state: "attached" });
    assert.equal(await page.locator(".react-flow__edge").count(), 3);
    // each edge ends in an arrowhead (an SVG marker at its downstream end)
    const markers = await page
      .locator(".react-flow__edge path.react-flow__edge-path")
      .evaluateAll((paths) => paths.map((p) => p.getAttribute("marker-end") ?? ""));
    assert.deepEqual(
      markers.map((m) => m.startsWith("url(")),
      [true, true, true],
      markers.join(" "),
    );

    assert.equal((await apiSend("PATCH", "/api/v2/dags/example_etl", { is_paused: false })).status, 200);
    const triggered = await apiSend("POST", "/api/v2/dags/example_etl/dagRuns", { logical_date: null });
    assert.equal(triggered.status, 200, JSON.stringify(triggered.body));
    const runId: string = triggered.body.dag_run_id;
    // Without ?run= the newest run is shown, and its states arrive live without reloading.
    await page
      .getByLabel("Run")
      .locator(`option[value="${runId}"]`)
      .waitFor({ state: "attached", timeout: 30_000 });
    await page.waitForFunction(
      () =>
        ["start", "extract", "total", "report"].every(
          (id) =>
            document
              .querySelector(`.react-flow__node[data-id="${id}"] .graph-node`)
              ?.getAttribute("data-state") === "success",
        ),
      undefined,
      { timeout: 90_000 },
    );
    const run = await apiGet(`/api/v2/dags/example_etl/dagRuns/${encodeURIComponent(runId)}`);
    assert.equal(run.state, "success");
    // The header: owners, tags, the latest run with its state (live), and Reparse.
    const header = page.getByLabel("DAG summary");
    await header.getByRole("link").filter({ hasText: /\d/ }).waitFor();
    await header.locator(".state.success").waitFor({ timeout: 15_000 });
    assert.match((await header.textContent())!, /Owner\s*\S+.*Tags.*example.*Latest run.*Next run/s);
    // Dates carry their zone; the zone picked in the top bar applies to every date at once.
    const latestLink = header.getByRole("link").filter({ hasText: /\d/ });
    await page.getByLabel("Time zone").selectOption("UTC");
    await latestLink.filter({ hasText: /UTC/ }).waitFor();
    assert.match((await latestLink.textContent())!, /\d{1,2}:\d\d:\d\d.*UTC/);
    await page.reload();
    assert.equal(await page.getByLabel("Time zone").inputValue(), "UTC", "remembered in this browser");
    await page.getByLabel("Time zone").selectOption("local");
    await header.getByRole("button", { name: "Reparse" }).click();
    await header.getByRole("status").filter({ hasText: "parsed again" }).waitFor();

    await node("report").click();
    await page.waitForURL(/[?&]task=report/);
    const panel = page.getByRole("complementary", { name: "Task details" });
    await panel.getByRole("heading", { name: "report" }).waitFor();
    await panel.getByText("BashOperator").waitFor();
    assert.match((await panel.textContent())!, /Upstream \(1\)\s*total/);
    assert.match((await panel.getByRole("region", { name: "Task instance" }).textContent())!, /success/);
    await panel.getByRole("link", { name: "Open task instance" }).click();
    await page.waitForURL(
      (url) => url.pathname === `/dags/example_etl/runs/${encodeURIComponent(runId)}/tasks/report`,
    );
  },
);

test(
  "a DAG of 5,000 tasks opens its graph, laid out and drawn, coloured by a run",
  { skip: missing },
  async () => {
    const { base, apiGet, apiSend, home } = server;
    const tasks = await apiGet(`/api/v2/dags/${BIG}/tasks`);
    assert.equal(tasks.total_entries, 5000);
    // A run of the (paused) DAG, its task instances written straight into the database in mixed states,
    // as a run part-way through looks: the screenshot shows states, not 5,000 grey boxes.
    const made = await apiSend("POST", `/api/v2/dags/${BIG}/dagRuns`, {
      logical_date: "2025-03-01T00:00:00Z",
      dag_run_id: "screenshot_run",
    });
    assert.equal(made.status, 200, JSON.stringify(made.body));
    await fillRun(home, "screenshot_run");

    const began = Date.now();
    await page.goto(`${base}/dags/${BIG}?tab=graph&run=screenshot_run`);
    await page.locator('[data-testid="graph-canvas"][data-layout-ms]').waitFor({ timeout: 30_000 });
    // It opens whole: at that size zoomed out, drawn on the canvas rather than as 5,000 boxes.
    await page.getByTestId("graph-overview").waitFor();
    const opened = Date.now() - began;
    assert.equal(await page.getByTestId("graph-canvas").getAttribute("data-tasks"), "5000");
    console.log(`# the 5,000-task graph opened in ${opened} ms`);

    // Find a task by keyboard: it is selected and brought into view.
    await page.getByLabel("Find task").fill("src000.p01.enrich");
    await page.getByLabel("Find task").press("Enter");
    await page.waitForURL(/task=src000\.p01\.enrich/);
    await page
      .getByRole("complementary", { name: "Task details" })
      .getByRole("heading", { name: "src000.p01.enrich" })
      .waitFor();
    await node("src000.p01.enrich").waitFor();
    const drawn = await page.locator(".react-flow__node").count();
    assert.ok(drawn > 10 && drawn < 1000, `only what is on screen is rendered (${drawn} nodes in the DOM)`);
    // The run's states are drawn: src000.p01.transform, beside the task found, as the API has it.
    const expected = (
      await apiGet(`/api/v2/dags/${BIG}/dagRuns/screenshot_run/taskInstances/src000.p01.transform`)
    ).state;
    assert.equal(expected, "failed", "the generated run has this task failed");
    const coloured = await page
      .waitForFunction(
        (state) =>
          document
            .querySelector('.react-flow__node[data-id="src000.p01.transform"] .graph-node')
            ?.getAttribute("data-state") === state,
        expected,
        { timeout: 30_000 },
      )
      .then(
        () => null,
        (error: Error) => error,
      );
    await page.waitForTimeout(600);
    await page.screenshot({ path: join(SCREENSHOTS, "graph.png") });

    // Zoomed out, the graph is drawn on a canvas rather than thousands of boxes.
    for (let i = 0; i < 10; i++) await page.getByRole("button", { name: "Zoom Out" }).click();
    await page.getByTestId("graph-overview").waitFor();
    assert.equal(await page.locator(".react-flow__node").count(), 0);
    await page.waitForTimeout(300);
    await page.screenshot({ path: join(SCREENSHOTS, "graph-overview.png") });
    // Asserted after the screenshots so they are saved for a look even when this fails.
    assert.equal(coloured, null, `the run's states were not drawn on the graph: ${coloured?.message}`);
  },
);

/** Task instances of `runId` for every task of the big DAG: the first 40% done, some failed, some running. */
async function fillRun(home: string, runId: string) {
  const database = openDatabase(`sqlite:///${join(home, "updraft.db")}`);
  try {
    const run = await database.db
      .selectFrom("dag_run")
      .select(["id", "start_date"])
      .where("dag_id", "=", BIG)
      .where("run_id", "=", runId)
      .executeTakeFirstOrThrow();
    const now = new Date().toISOString();
    const stateOf = (i: number) =>
      i % 211 === 17
        ? "failed"
        : i % 211 > 17 && i % 211 < 24
          ? "upstream_failed"
          : i < 2000
            ? i % 53 === 5
              ? "skipped"
              : "success"
            : i < 2150
              ? "running"
              : i < 2400
                ? "queued"
                : "scheduled";
    for (let i = 0; i < bigTasks.length; i += 500) {
      const rows = bigTasks.slice(i, i + 500).map((t, k) => ({
        dag_id: BIG,
        run_id: runId,
        task_id: t.id,
        map_index: -1,
        dag_run_id: run.id,
        state: stateOf(i + k),
        try_number: 1,
        max_tries: 0,
        operator:
          t.kind === "bash" ? "BashOperator" : t.kind === "empty" ? "EmptyOperator" : "PythonOperator",
        pool: "default_pool",
        pool_slots: 1,
        queue: "default",
        priority_weight: 1,
        start_date: now,
        duration: 2.5,
        updated_at: now,
      }));
      // the run may already have its task instances (state none): they are overwritten
      await database.db
        .insertInto("task_instance")
        .values(rows)
        .onConflict((oc) =>
          oc.columns(["dag_id", "run_id", "task_id", "map_index"]).doUpdateSet({
            state: sql`excluded.state`,
            try_number: 1,
            start_date: now,
            duration: 2.5,
            updated_at: now,
          }),
        )
        .execute();
    }
  } finally {
    await database.close();
  }
}
