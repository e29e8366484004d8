/**
 * Cross-DAG work and waits in a real browser against `updraft standalone`: a triggerDagRun task's
 * page links to the run it triggered ("Triggered DAG"), and a deferred task's page shows the trigger it
 * waits on, in Airflow's colour for deferred.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { Browser, Page } from "playwright-core";
import {
  eventually,
  finishedRun,
  launchBrowser,
  loggedInPage,
  missing,
  startStandalone,
  type Standalone,
} from "./harness.ts";

const DAGS = {
  "x_parent.ts": `import { dag, triggerDagRun } from "updraft";
export default dag({ dagId: "x_parent", schedule: null, startDate: "2025-01-01" }, () => {
  triggerDagRun("go", { dagId: "x_child", triggerRunId: "from_parent" });
});`,
  "x_child.ts": `import { bash, dag } from "updraft";
export default dag({ dagId: "x_child", schedule: null, startDate: "2025-01-01" }, () => {
  bash("work", { command: "echo child" });
});`,
  "x_waiting.ts": `import { dag, defer, task, timeDeltaTrigger } from "updraft";
export default dag({ dagId: "x_waiting", schedule: null, startDate: "2025-01-01" }, () => {
  task("later", () => defer(timeDeltaTrigger("2h"), { timeout: "3h" }), { resume: () => "resumed" })();
});`,
};

let server: Standalone;
let browser: Browser;
let page: Page;

before(async () => {
  if (missing) return;
  server = await startStandalone({ dagFiles: DAGS });
  browser = await launchBrowser();
  page = await loggedInPage(browser, server.base, "admin", server.password);
  for (const dagId of ["x_parent", "x_child", "x_waiting"])
    await eventually(async () =>
      assert.equal(
        (await server.apiSend("PATCH", `/api/v2/dags/${dagId}`, { is_paused: false })).status,
        200,
      ),
    );
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test("a triggerDagRun task links to the run it triggered", { skip: missing && "no chromium" }, async () => {
  const runId = await finishedRun(server, "x_parent", { tasks: 1, state: "success" });
  await page.goto(`${server.base}/dags/x_parent/runs/${encodeURIComponent(runId)}/tasks/go`);
  const links = page.getByRole("region", { name: "Links" });
  const link = links.getByRole("link", { name: "Triggered DAG" });
  await link.waitFor();
  assert.equal(await link.getAttribute("href"), "/dags/x_child?run=from_parent");
  await link.click();
  await page.waitForURL(/\/dags\/x_child\?run=from_parent$/);
  await page.getByRole("heading", { name: "x_child" }).waitFor();
});

test("a deferred task shows the trigger it waits on", { skip: missing && "no chromium" }, async () => {
  const runId = await finishedRun(server, "x_waiting", { tasks: 1, state: "running" });
  await eventually(async () => {
    const ti = await server.apiGet(
      `/api/v2/dags/x_waiting/dagRuns/${encodeURIComponent(runId)}/taskInstances/later`,
    );
    assert.equal(ti.state, "deferred");
  });
  await page.goto(`${server.base}/dags/x_waiting/runs/${encodeURIComponent(runId)}/tasks/later`);
  const panel = page.getByRole("region", { name: "Deferred" });
  await panel.getByText("updraft.triggers.DateTimeTrigger").waitFor();
  assert.match(await panel.getByLabel("Trigger arguments").innerText(), /"moment": "\d{4}-/);
  const badge = page.locator(".ti-crumbs .state.deferred");
  assert.equal(await badge.evaluate((e) => getComputedStyle(e).backgroundColor), "rgb(147, 112, 219)");
});
