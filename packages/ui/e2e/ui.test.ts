import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { Browser, Page } from "playwright-core";
import { launchBrowser, missing, SCREENSHOTS, startStandalone, type Standalone } from "./harness.ts";

let server: Standalone;
let browser: Browser;
let page: Page;
let base: string;
let home: string;

before(async () => {
  if (missing) return;
  server = await startStandalone();
  ({ base, home } = server);
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const apiGet = (path: string) => server.apiGet(path);

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
    // dags.png is saved by admin.test.ts, with runs in the recent-runs column.

    // Dark and light themes: the choice is applied to the whole page and kept across a reload.
    const luminance = () =>
      page.evaluate(() => {
        const [r, g, b] = getComputedStyle(document.documentElement)
          .backgroundColor.match(/\d+/g)!
          .map(Number);
        return (0.2126 * r! + 0.7152 * g! + 0.0722 * b!) / 255;
      });
    await page.getByLabel("Theme").selectOption("dark");
    assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), "dark");
    assert.ok((await luminance()) < 0.2, "a dark background");
    await page.reload();
    await page.getByRole("heading", { name: "DAGs" }).waitFor();
    assert.ok((await luminance()) < 0.2, "still dark after a reload");
    await page.getByLabel("Theme").selectOption("light");
    assert.ok((await luminance()) > 0.8, "a light background");

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
      `Bearer ${server.token}`,
    );
    await page
      .getByRole("row", { name: /example_etl/ })
      .getByRole("button", { name: "Trigger" })
      .click();
    await page
      .getByRole("dialog", { name: "Trigger example_etl" })
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

    // The DAG's grid: the run's cell of the bash task opens its details and log beside the grid,
    // and from there its task instance page.
    await page.getByRole("link", { name: "example_etl" }).click();
    await page.waitForURL(/\/dags\/example_etl/);
    const grid = page.getByRole("grid", { name: "Grid of example_etl" });
    await grid.getByRole("gridcell", { name: `report ${runId}: success` }).click();
    const pane = page.getByRole("complementary", { name: "Task instance details" });
    await pane
      .getByRole("region", { name: "Log" })
      .getByText(/total for \d{4}-\d\d-\d\d/)
      .waitFor();
    await pane.getByRole("link", { name: "Open page" }).click();
    await page.waitForURL(/\/runs\/.+\/tasks\/report/);
    await page
      .getByRole("region", { name: "Log" })
      .getByText(/total for \d{4}-\d\d-\d\d/)
      .waitFor();
    await page.screenshot({ path: join(SCREENSHOTS, "log.png"), fullPage: true });
  },
);

test(
  "a viewer sees the DAGs but no actions, and the API refuses the viewer a trigger",
  { skip: missing },
  async () => {
    assert.equal(
      await server.cli(
        ["users", "create", "-u", "val", "-r", "Viewer", "--password-stdin"],
        "viewer-pass-1\n",
      ),
      0,
      "users create failed",
    );
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
