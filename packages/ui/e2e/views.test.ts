/**
 * The DAG page's views a daily user reaches for, in a real browser against `updraft standalone`:
 * backfills made from the header's Backfill dialog (the server's dry run previewed first), listed,
 * paused and cancelled in the Backfills tab; the DAG's own time zone in the zone selector; the graph's
 * details panel docked beside the canvas without hiding the task it describes.
 */
import assert from "node:assert/strict";
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

const DAGS = {
  "v_daily.ts": `import { bash, dag } from "updraft";
export default dag({ dagId: "v_daily", schedule: "@daily", startDate: "2025-01-01", catchup: false, timezone: "Europe/Amsterdam" }, () => {
  bash("work", { command: "echo {{ ds }}" });
});`,
  "v_wide.ts": `import { chain, dag, empty } from "updraft";
export default dag({ dagId: "v_wide", schedule: null }, () => {
  chain(...Array.from({ length: 14 }, (_, i) => empty("step_" + String(i).padStart(2, "0"))));
});`,
};

let server: Standalone;
let browser: Browser;
let page: Page;

before(async () => {
  if (missing) return;
  server = await startStandalone({ dagFiles: DAGS, env: { UPDRAFT__CORE__LOAD_EXAMPLES: "false" } });
  await eventually(async () => assert.equal((await server.apiGet("/api/v2/dags/v_daily")).dag_id, "v_daily"));
  await eventually(async () => assert.equal((await server.apiGet("/api/v2/dags/v_wide")).dag_id, "v_wide"));
  browser = await launchBrowser();
  page = await loggedInPage(browser, server.base, "admin", server.password);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test(
  "a backfill from the header: the dry run's dates previewed, then listed, paused and cancelled",
  { skip: missing && "no chromium" },
  async () => {
    await page.goto(`${server.base}/dags/v_daily`);
    await page.getByRole("button", { name: "Backfill", exact: true }).click();
    const dialog = page.getByRole("dialog", { name: "Backfill v_daily" });
    const preview = dialog.getByRole("region", { name: "Backfill preview" });
    // Dates in the future: the server's refusal is shown and nothing can be run.
    await dialog.getByLabel("From (logical date)").fill("2999-01-01T00:00");
    await dialog.getByLabel("To (logical date)").fill("2999-01-03T00:00");
    await preview
      .getByRole("alert")
      .getByText(/future dates/)
      .waitFor();
    assert.equal(await dialog.getByRole("button", { name: "Run backfill" }).isDisabled(), true);

    const zone = await page.evaluate(() => Intl.DateTimeFormat().resolvedOptions().timeZone);
    assert.equal(zone, "UTC", "the harness's browser runs in UTC: the inputs below are UTC");
    await dialog.getByLabel("From (logical date)").fill("2025-01-01T00:00");
    await dialog.getByLabel("To (logical date)").fill("2025-01-03T00:00");
    await dialog.getByLabel("Max active runs").fill("1");
    await dialog.getByLabel("Run backwards (newest first)").check();
    await dialog.getByLabel("Conf (JSON)").fill('{"why": "replay"}');
    // The DAG runs in Europe/Amsterdam: its days start at 23:00 UTC, two of them in the range.
    await preview.getByRole("status").getByText("2 runs will be triggered").waitFor();
    assert.deepEqual(await preview.getByRole("listitem").count(), 2);
    await dialog.getByLabel("Reprocess behaviour").selectOption({ label: "All runs" });
    await dialog.getByRole("button", { name: "Run backfill" }).click();

    await page.waitForURL((url) => url.searchParams.get("tab") === "backfills");
    const table = page.getByRole("table", { name: "Backfills" });
    const row = table.getByRole("row").nth(1);
    await row.getByText("running").waitFor();
    assert.match(await row.innerText(), /All runs/);
    const [made] = (await server.apiGet("/api/v2/backfills?dag_id=v_daily")).backfills;
    assert.equal(made.max_active_runs, 1);
    assert.equal(made.reprocess_behavior, "completed");
    assert.deepEqual(made.dag_run_conf, { why: "replay" });
    const runs = (await server.apiGet("/api/v2/dags/v_daily/dagRuns?run_type=backfill")).dag_runs;
    assert.deepEqual(runs.map((r: { logical_date: string }) => r.logical_date).sort(), [
      "2025-01-01T23:00:00.000Z",
      "2025-01-02T23:00:00.000Z",
    ]);
    await page.screenshot({ path: join(SCREENSHOTS, "backfills.png") });

    await row.getByRole("button", { name: "Pause" }).click();
    await row.getByText("paused").waitFor();
    assert.equal((await server.apiGet(`/api/v2/backfills/${made.id}`)).is_paused, true);
    await row.getByRole("button", { name: "Unpause" }).click();
    await row.getByText("running").waitFor();
    await row.getByRole("button", { name: "Cancel" }).click();
    await row.getByText("completed").waitFor();
    await eventually(async () =>
      assert.notEqual((await server.apiGet(`/api/v2/backfills/${made.id}`)).completed_at, null),
    );

    // One active backfill per DAG: a second one while none is active is fine; the API's 409 shows.
    await page.getByRole("button", { name: "Backfill", exact: true }).click();
    await dialog.getByLabel("From (logical date)").fill("2025-02-01T00:00");
    await dialog.getByLabel("To (logical date)").fill("2025-02-02T00:00");
    await preview
      .getByRole("status")
      .getByText(/\d+ runs? will be triggered/)
      .waitFor();
    await dialog.getByRole("button", { name: "Run backfill" }).click();
    await table.getByRole("row").nth(2).waitFor();
    await page.getByRole("button", { name: "Backfill", exact: true }).click();
    await dialog.getByLabel("From (logical date)").fill("2025-03-01T00:00");
    await dialog.getByLabel("To (logical date)").fill("2025-03-02T00:00");
    await preview
      .getByRole("status")
      .getByText(/\d+ runs? will be triggered/)
      .waitFor();
    await dialog.getByRole("button", { name: "Run backfill" }).click();
    await dialog
      .getByRole("alert")
      .getByText(/only one running backfill per DAG/)
      .waitFor();
  },
);

test(
  "the zone selector offers the DAG's own zone on its pages, and dates follow it",
  { skip: missing && "no chromium" },
  async () => {
    await page.goto(`${server.base}/dags`);
    const select = page.getByRole("combobox", { name: "Time zone" });
    await select.waitFor();
    assert.match(await select.locator('option[value="dag"]').innerText(), /on a DAG's pages/);
    await page.goto(`${server.base}/dags/v_daily`);
    await select
      .locator('option[value="dag"]', { hasText: "Europe/Amsterdam" })
      .waitFor({ state: "attached" });
    const nextRun = page.getByRole("definition").filter({ hasText: /\d{4}/ }).last();
    await select.selectOption("UTC");
    await nextRun.getByText(/UTC/).waitFor();
    const utc = await nextRun.innerText();
    await select.selectOption("dag");
    // Amsterdam is an hour ahead of UTC in winter: the same instant, another clock, another zone name.
    await eventually(async () => {
      const shown = await nextRun.innerText();
      assert.notEqual(shown, utc);
      assert.match(shown, /GMT\+1|CET/);
    });
    await select.selectOption("local");
  },
);

test(
  "the graph's details panel docks beside the canvas and keeps the task it describes in sight",
  { skip: missing && "no chromium" },
  async () => {
    await page.setViewportSize({ width: 1100, height: 800 });
    await page.goto(`${server.base}/dags/v_wide?tab=graph`);
    const node = page.locator('.react-flow__node[data-id="step_13"]');
    await node.waitFor();
    await node.click();
    const panel = page.locator(".graph-panel");
    await panel.waitFor();
    const canvas = page.locator(".graph-canvas");
    await eventually(async () => {
      const [n, c, p] = await Promise.all([node.boundingBox(), canvas.boundingBox(), panel.boundingBox()]);
      assert.ok(n && c && p);
      assert.ok(c.x + c.width <= p.x + 1, "the panel is beside the canvas, not over it");
      assert.ok(
        n.x >= c.x - 1 && n.x + n.width <= c.x + c.width + 1,
        `the node is in the canvas: ${JSON.stringify({ n, c })}`,
      );
    });
    await page.screenshot({ path: join(SCREENSHOTS, "graph-panel.png") });
    await page.setViewportSize({ width: 1366, height: 800 });
  },
);

test(
  "the calendar colours each day by its runs and a day opens its runs",
  { skip: missing && "no chromium" },
  async () => {
    for (const [runId, day, state] of [
      ["cal_a", "2024-05-01T10:00:00Z", "success"],
      ["cal_b", "2024-05-01T12:00:00Z", "success"],
      ["cal_c", "2024-05-02T10:00:00Z", "failed"],
    ] as const) {
      const made = await server.apiSend("POST", "/api/v2/dags/v_daily/dagRuns", {
        dag_run_id: runId,
        logical_date: day,
      });
      assert.equal(made.status, 200, JSON.stringify(made.body));
      const marked = await server.apiSend("PATCH", `/api/v2/dags/v_daily/dagRuns/${runId}`, { state });
      assert.equal(marked.status, 200, JSON.stringify(marked.body));
    }
    await page.goto(`${server.base}/dags/v_daily?tab=calendar&cal_year=2024`);
    const grid = page.getByRole("grid", { name: "Runs of v_daily in 2024" });
    await grid.getByRole("gridcell", { name: "2024-05-01: 2 success" }).waitFor();
    const failedDay = grid.getByRole("gridcell", { name: "2024-05-02: 1 failed" });
    assert.equal(await failedDay.getAttribute("data-state"), "failed");
    assert.equal(await grid.getByRole("gridcell", { name: "2024-05-03: no runs" }).count(), 1);
    assert.equal(await grid.getByRole("gridcell").count(), 366, "2024 is a leap year");
    await page.screenshot({ path: join(SCREENSHOTS, "calendar.png") });
    await failedDay.click();
    await page.waitForURL(
      (url) => url.searchParams.get("tab") === "runs" && url.searchParams.get("logical_day") === "2024-05-02",
    );
    const rows = page.locator(".runs-table tbody tr");
    await eventually(async () => assert.equal(await rows.count(), 1));
    assert.match(await rows.first().innerText(), /cal_c/);
  },
);
