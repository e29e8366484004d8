/**
 * The DAG page's grid and Runs tab in a real browser against `updraft standalone`: a generated DAG of
 * 300 tasks whose `check` task fails when the run's conf says so, with a few dozen runs made through
 * the API. The grid must show the states the API reports, read only blocks in view, scroll to other
 * rows, follow a new run live and open task instances; the Runs tab filters by state and clears a run
 * after previewing what will be cleared, and the server runs it again.
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

const DAG = "grid_demo";
const RUNS = 36;
const LOADS = 285;

const GRID_DAG = `
import { bash, chain, dag, empty } from "updraft";

const pad = (i: number) => String(i).padStart(3, "0");

export default dag(
  {
    dagId: "${DAG}",
    description: "300 tasks; check fails when the run's conf says fail.",
    schedule: null,
    maxActiveTasks: 64,
    maxActiveRuns: 16,
    isPausedUponCreation: false,
    params: { fail: false, pause: 1 },
  },
  () => {
    const extracts = Array.from({ length: 12 }, (_, i) => empty("extract_" + pad(i)));
    const loads = Array.from({ length: ${LOADS} }, (_, i) => empty("load_" + pad(i)));
    const check = bash("check", {
      command: 'sleep {{ params.pause }}; test "{{ params.fail }}" != "true"',
    });
    chain(empty("start"), extracts, check, loads, empty("end"));
  },
);
`;

/** Which runs fail: a fixed scatter, so the picture is the same every time. */
const fails = (i: number) => (i * 7 + 3) % 5 === 0 || i % 11 === 4;

let server: Standalone;
let browser: Browser;
let page: Page;
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- API answers
let runs: any[];
/** The bodies of the batch task-instance reads the page sent. */
const tiReads: { dag_run_ids: string[]; task_ids: string[]; page_limit: number }[] = [];

const runPath = (runId: string) => `/api/v2/dags/${DAG}/dagRuns/${encodeURIComponent(runId)}`;
const cell = (taskId: string, runId: string, state: string) =>
  page.getByRole("gridcell", { name: `${taskId} ${runId}: ${state}`, exact: true });

async function finished(runIds: string[]) {
  await eventually(
    async () => {
      for (const id of runIds) {
        const run = await server.apiGet(runPath(id));
        assert.ok(run.state === "success" || run.state === "failed", `${id} is ${run.state}`);
      }
    },
    180_000,
    "every run finished",
  );
}

before(async () => {
  if (missing) return;
  server = await startStandalone({
    dagFiles: { "grid_demo.ts": GRID_DAG },
    env: { UPDRAFT__CORE__LOAD_EXAMPLES: "false" },
  });
  await eventually(async () =>
    assert.equal((await server.apiGet(`/api/v2/dags/${DAG}/tasks`)).total_entries, 300),
  );
  const ids: string[] = [];
  for (let i = 0; i < RUNS; i++) {
    const made = await server.apiSend("POST", `/api/v2/dags/${DAG}/dagRuns`, {
      dag_run_id: `run_${String(i).padStart(2, "0")}`,
      logical_date: new Date(Date.UTC(2025, 0, 1 + i)).toISOString(),
      conf: { fail: fails(i) },
    });
    assert.equal(made.status, 200, JSON.stringify(made.body));
    ids.push(made.body.dag_run_id);
  }
  await finished(ids);
  runs = (await server.apiGet(`/api/v2/dags/${DAG}/dagRuns?limit=100&order_by=run_after`)).dag_runs;
  browser = await launchBrowser();
  page = await loggedInPage(browser, server.base, "admin", server.password);
  page.on("request", (request) => {
    if (request.method() === "POST" && request.url().endsWith("/taskInstances/list"))
      tiReads.push(request.postDataJSON());
  });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** The colour a state's variable has in the page, to compare with a cell's background. */
const stateRgb = (state: string) =>
  page.evaluate((s) => {
    const probe = document.createElement("div");
    probe.style.background = `var(--state-${s})`;
    document.body.append(probe);
    const rgb = getComputedStyle(probe).backgroundColor;
    probe.remove();
    return rgb;
  }, state);

test(
  "the grid shows the states the API reports, reading only the blocks in view",
  { skip: missing },
  async () => {
    await page.goto(`${server.base}/dags/${DAG}`);
    const grid = page.getByRole("grid", { name: `Grid of ${DAG}` });
    await grid.waitFor();
    const newest = runs.at(-1)!;
    const failed = [...runs].reverse().find((r) => r.state === "failed")!;
    const succeeded = [...runs].reverse().find((r) => r.state === "success")!;
    assert.ok(failed && succeeded, "the runs include failures and successes");

    // Task instances as the API has them, against the cells drawn for them.
    for (const run of [newest, failed, succeeded]) {
      const check = await server.apiGet(`${runPath(run.dag_run_id)}/taskInstances/check`);
      const load = await server.apiGet(`${runPath(run.dag_run_id)}/taskInstances/load_000`);
      await cell("check", run.dag_run_id, check.state).waitFor();
      await cell("load_000", run.dag_run_id, load.state).waitFor();
    }
    assert.equal(
      (await server.apiGet(`${runPath(failed.dag_run_id)}/taskInstances/load_000`)).state,
      "upstream_failed",
    );
    const background = (locator: ReturnType<typeof cell>) =>
      locator.evaluate((el) => getComputedStyle(el).backgroundColor);
    assert.equal(await background(cell("check", failed.dag_run_id, "failed")), await stateRgb("failed"));
    assert.equal(await background(cell("check", succeeded.dag_run_id, "success")), await stateRgb("success"));
    assert.equal(
      await background(cell("load_000", failed.dag_run_id, "upstream_failed")),
      await stateRgb("upstream_failed"),
    );

    // Virtualised: the newest run is in view at the right, the oldest and the last rows are not drawn.
    const drawn = await page.getByRole("gridcell").count();
    assert.ok(drawn > 100 && drawn < 3000, `${drawn} cells drawn of ${300 * RUNS}`);
    assert.equal(await page.getByRole("gridcell", { name: /^end / }).count(), 0, "the last row is not drawn");
    const box = (await cell("check", newest.dag_run_id, "success").boundingBox())!;
    const view = (await grid.boundingBox())!;
    assert.ok(box.x > view.x + view.width / 2, "the newest run is at the right");

    // Hovering a cell tells its task, run, state, try and duration.
    await cell("check", failed.dag_run_id, "failed").hover();
    const tip = page.getByRole("tooltip");
    await tip.getByText(failed.dag_run_id).waitFor();
    assert.match((await tip.textContent())!, /Taskcheck.*Statefailed.*Try1.*Duration\d/);

    // Only small blocks of the window were asked for, never the whole DAG.
    assert.ok(tiReads.length > 0, "the grid read task instances in batches");
    for (const body of tiReads) {
      assert.ok(
        body.task_ids.length <= 25 && body.dag_run_ids.length <= 20,
        JSON.stringify(body).slice(0, 200),
      );
      assert.ok(body.page_limit <= 500);
    }
    await page.screenshot({ path: join(SCREENSHOTS, "grid.png") });
  },
);

test("scrolling the grid reveals other rows and runs", { skip: missing }, async () => {
  const scroll = page.getByTestId("grid-scroll");
  const newest = runs.at(-1)!.dag_run_id;
  const oldest = runs[0].dag_run_id;
  await scroll.evaluate((el) => el.scrollTo({ top: el.scrollHeight }));
  await cell("end", newest, "success").waitFor();
  await page.getByRole("rowheader", { name: "end", exact: true }).waitFor();
  await page.getByRole("rowheader", { name: "start", exact: true }).waitFor({ state: "detached" });
  await scroll.evaluate((el) => el.scrollTo({ left: 0 }));
  const oldestEnd = await server.apiGet(`${runPath(oldest)}/taskInstances/end`);
  await cell("end", oldest, oldestEnd.state).waitFor();
  await scroll.evaluate((el) => el.scrollTo({ top: 0, left: el.scrollWidth }));
  await cell("start", newest, "success").waitFor();
});

test(
  "keys move between cells; Enter and clicks open the details pane beside the grid; a run's bar opens the run with its failed tasks",
  { skip: missing },
  async () => {
    const [before, last] = runs.slice(-2).map((r) => r.dag_run_id as string);
    // From the last run's "check" cell: left, then down. A poll that re-renders the grid between the
    // focus and the keys moves the focus; the keys are then pressed once more from a fresh focus.
    const move = async () => {
      await cell("check", last!, runs.at(-1)!.state === "failed" ? "failed" : "success").focus();
      await page.waitForFunction(
        (label) => document.activeElement?.getAttribute("aria-label")?.startsWith(label) ?? false,
        `check ${last}: `,
      );
      await page.keyboard.press("ArrowLeft");
      await page.keyboard.press("ArrowDown");
      return page.evaluate(() => document.activeElement?.getAttribute("aria-label"));
    };
    let focused = await move();
    if (!focused?.startsWith(`load_000 ${before}: `)) focused = await move();
    assert.match(focused!, new RegExp(`^load_000 ${before}: `));
    await page.keyboard.press("Enter");
    await page.waitForURL((url) => url.searchParams.get("task") === "load_000");
    assert.equal(new URL(page.url()).pathname, `/dags/${DAG}`, "the grid stays");
    const pane = page.getByRole("complementary", { name: "Task instance details" });
    await pane.getByRole("heading", { name: "load_000" }).waitFor();
    await page.getByRole("grid", { name: `Grid of ${DAG}` }).waitFor();

    // A failed cell: its state, tries, log and actions in the pane, beside the grid.
    const failed = [...runs].reverse().find((r) => r.state === "failed")!.dag_run_id;
    await cell("check", failed, "failed").click();
    await page.waitForURL(
      (url) => url.searchParams.get("task") === "check" && url.searchParams.get("run") === failed,
    );
    await pane.getByRole("heading", { name: "check" }).waitFor();
    await pane
      .getByRole("region", { name: "Log" })
      .getByText(/exited with code 1|bash exited/)
      .first()
      .waitFor();
    await pane.getByRole("region", { name: "XCom" }).waitFor();
    await pane.getByRole("region", { name: "Note" }).waitFor();
    for (const action of ["Clear", "Mark success", "Mark failed", "Delete"])
      await pane
        .getByRole("toolbar", { name: "Actions on check" })
        .getByRole("button", { name: action, exact: true })
        .waitFor();
    const [gridBox, paneBox] = await Promise.all([
      page.getByRole("grid", { name: `Grid of ${DAG}` }).boundingBox(),
      pane.boundingBox(),
    ]);
    assert.ok(
      gridBox && paneBox && paneBox.x >= gridBox.x + gridBox.width - 1,
      "the pane is beside the grid",
    );
    assert.equal(await cell("check", failed, "failed").getAttribute("aria-selected"), "true");
    await page.screenshot({ path: join(SCREENSHOTS, "grid-details.png") });
    assert.match(
      (await pane.getByRole("link", { name: "Open page" }).getAttribute("href")) ?? "",
      /\/tasks\/check$/,
    );
    // Escape steps back from the task instance to its run.
    await page.keyboard.press("Escape");
    await page.waitForURL(
      (url) => url.searchParams.get("task") === null && url.searchParams.get("run") === failed,
    );
    assert.equal(
      await page.getByRole("button", { name: `Run ${failed}: failed` }).getAttribute("aria-pressed"),
      "true",
    );

    // The run's bar: its card names its failed tasks; the pane shows the run's facts and failed tasks.
    await page.getByRole("button", { name: `Run ${failed}: failed` }).hover();
    await page.getByRole("tooltip").getByText("Failed tasks").waitFor();
    await page
      .getByRole("tooltip")
      .getByText(/^check/)
      .waitFor();
    const runPane = page.getByRole("complementary", { name: "Run details" });
    const failedList = runPane.getByRole("region", { name: "Failed tasks" });
    await failedList.getByRole("button", { name: "check" }).click();
    await page.waitForURL((url) => url.searchParams.get("task") === "check");
    await pane.getByRole("heading", { name: "check" }).waitFor();
    await pane.getByRole("button", { name: "Close details" }).click();
    await page.waitForURL((url) => url.searchParams.get("task") === null);
    await runPane.getByRole("button", { name: "Close details" }).click();
    await page.waitForURL((url) => url.searchParams.get("run") === null);
    await runPane.waitFor({ state: "detached" });
  },
);

test(
  "task search and the state filter narrow the rows and stay in the URL; jump to the failed task",
  { skip: missing },
  async () => {
    await page.goto(`${server.base}/dags/${DAG}`);
    const grid = page.getByRole("grid", { name: `Grid of ${DAG}` });
    await grid.waitFor();
    const labels = () => grid.getByRole("rowheader").allInnerTexts();
    await page.getByRole("searchbox", { name: "Search tasks" }).fill("extract_00");
    await eventually(async () => assert.deepEqual((await labels()).length, 10));
    assert.ok((await labels()).every((l) => l.startsWith("extract_00")));
    assert.equal(new URL(page.url()).searchParams.get("task_search"), "extract_00");
    await page.reload();
    await eventually(
      async () => assert.equal((await labels()).length, 10),
      10_000,
      "the search survives a reload",
    );

    await page.getByRole("searchbox", { name: "Search tasks" }).fill("");
    await page.getByRole("combobox", { name: "Filter by state" }).selectOption("failed");
    await eventually(async () => assert.deepEqual(await labels(), ["check"]));
    assert.equal(new URL(page.url()).searchParams.get("task_state"), "failed");
    await page.getByRole("combobox", { name: "Filter by state" }).selectOption("upstream_failed");
    // The loads and the end (rows are virtualised: the count is the grid's own).
    await page
      .getByRole("status")
      .getByText(`${LOADS + 1} of 300 rows`)
      .waitFor();
    await page.getByRole("combobox", { name: "Filter by state" }).selectOption("");

    const newestFailed = [...runs].reverse().find((r) => r.state === "failed")!.dag_run_id;
    await page.getByRole("button", { name: "Jump to failed task" }).click();
    await page.waitForURL(
      (url) => url.searchParams.get("task") === "check" && url.searchParams.get("run") === newestFailed,
    );
    await page
      .getByRole("complementary", { name: "Task instance details" })
      .getByRole("heading", { name: "check" })
      .waitFor();
    await eventually(async () =>
      assert.equal(await cell("check", newestFailed, "failed").getAttribute("aria-selected"), "true"),
    );
  },
);

test("a new run appears at the right and its cells follow it live", { skip: missing }, async () => {
  await page.goto(`${server.base}/dags/${DAG}`);
  await page.getByRole("grid", { name: `Grid of ${DAG}` }).waitFor();
  await cell("start", runs.at(-1)!.dag_run_id, "success").waitFor();
  const made = await server.apiSend("POST", `/api/v2/dags/${DAG}/dagRuns`, {
    dag_run_id: "run_live",
    logical_date: new Date(Date.UTC(2025, 3, 1)).toISOString(),
    conf: { fail: false, pause: 6 },
  });
  assert.equal(made.status, 200, JSON.stringify(made.body));
  const readsBefore = tiReads.length;
  await cell("check", "run_live", "running").waitFor({ timeout: 20_000 });
  await cell("check", "run_live", "success").waitFor({ timeout: 30_000 });
  await cell("load_000", "run_live", "success").waitFor({ timeout: 30_000 });
  // While the run went, only its cells were read again, not the finished runs beside it.
  const polls = tiReads
    .slice(readsBefore)
    .filter((b) => b.dag_run_ids.length === 1 && b.dag_run_ids[0] === "run_live");
  assert.ok(polls.length >= 2, `the live run's cells were re-read on their own (${polls.length} times)`);
  await finished(["run_live"]);
  runs = (await server.apiGet(`/api/v2/dags/${DAG}/dagRuns?limit=100&order_by=run_after`)).dag_runs;
});

test(
  "the Runs tab filters by state on the server and keeps the filter in the URL",
  { skip: missing },
  async () => {
    await page.goto(`${server.base}/dags/${DAG}?tab=runs`);
    const list = page.getByRole("region", { name: "Runs" });
    await list.getByRole("row").nth(1).waitFor();
    const failedTotal = (await server.apiGet(`/api/v2/dags/${DAG}/dagRuns?state=failed&limit=0`))
      .total_entries;
    assert.ok(failedTotal > 0);
    await list.getByLabel("State").selectOption("failed");
    await page.waitForURL(/run_state=failed/);
    await list.getByText(`1–${failedTotal} of ${failedTotal}`).waitFor();
    const states = await list.locator("tbody .state").allTextContents();
    assert.equal(states.length, failedTotal);
    assert.ok(
      states.every((s) => s === "failed"),
      states.join(","),
    );
    // The URL alone brings the same view back.
    await page.reload();
    await page
      .getByRole("region", { name: "Runs" })
      .getByText(`1–${failedTotal} of ${failedTotal}`)
      .waitFor();
    assert.equal(await page.getByRole("region", { name: "Runs" }).getByLabel("State").inputValue(), "failed");
  },
);

test(
  "clearing a run previews its task instances, then the server runs it again",
  { skip: missing },
  async () => {
    // The newest successful run: the first page of the list, newest first, shows it.
    const run = [...runs].reverse().find((r) => r.state === "success")!;
    const id: string = run.dag_run_id;
    const before = await server.apiGet(`${runPath(id)}/taskInstances/check`);
    await page.goto(`${server.base}/dags/${DAG}?tab=runs&run_state=success`);
    await page.getByRole("button", { name: `Clear ${id}`, exact: true }).click();
    const dialog = page.getByRole("dialog", { name: "Clear run" });
    const preview = dialog.getByRole("list", { name: "Task instances to clear" });
    await preview.getByText("check", { exact: true }).waitFor();
    await dialog.getByText("300 task instances will be cleared").waitFor();
    for (const taskId of ["start", "extract_000", "load_284", "end"])
      await preview.getByText(taskId, { exact: true }).waitFor();
    assert.equal((await server.apiGet(runPath(id))).state, "success", "the preview changed nothing");

    await dialog.getByRole("button", { name: "Clear", exact: true }).click();
    await dialog.waitFor({ state: "hidden" });
    const seen = new Set<string>();
    await eventually(
      async () => {
        const now = await server.apiGet(runPath(id));
        seen.add(now.state);
        assert.equal(now.state, "success");
        assert.ok(seen.has("queued") || seen.has("running"), `states seen: ${[...seen].join(",")}`);
      },
      60_000,
      "the cleared run ran again",
    );
    const after = await server.apiGet(`${runPath(id)}/taskInstances/check`);
    assert.equal(after.state, "success");
    assert.ok(after.try_number > before.try_number, `try ${before.try_number} -> ${after.try_number}`);
    assert.ok(Date.parse(after.start_date) > Date.parse(before.end_date), "check ran again after the clear");
  },
);

test("a viewer sees the runs without actions", { skip: missing }, async () => {
  const code = await server.cli(
    ["users", "create", "-u", "vera", "-r", "Viewer", "--password-stdin"],
    "viewer-pass-1\n",
  );
  assert.equal(code, 0);
  const viewer = await loggedInPage(browser, server.base, "vera", "viewer-pass-1");
  await viewer.goto(`${server.base}/dags/${DAG}?tab=runs`);
  const list = viewer.getByRole("region", { name: "Runs" });
  await list
    .getByRole("link", { name: /^Show .* in the grid$/ })
    .first()
    .waitFor();
  assert.equal(await list.getByRole("button", { name: /^(Clear|Delete|Mark) / }).count(), 0);
  await viewer.context().close();
});
