/**
 * The UI's speed in a real browser (Debian's chromium through playwright-core) over generated data:
 * a DAG of 5,000 tasks with 500 runs (2.5M task instances in mixed states, the newest run still
 * running) and 5,000 small DAGs, written into a temporary UPDRAFT_HOME's SQLite database before
 * `updraft webserver` starts (no scheduler, so nothing moves underneath the measurements).
 *
 * Measured: (a) the graph of the big DAG, navigation to laid out and drawn, and frame times while
 * panning and zooming; (b) frame times while scrolling its grid (500 runs) both ways, then with a task
 * instance's details pane open beside it (a click on a cell to its facts and log shown); (c) the DAGs
 * page over 5,000 DAGs, navigation to the first page shown; (d) for every page, the most rows any API
 * answer carried against the rows the page shows. Baselines in the same run: the API's round trip
 * (GET /api/v2/version from the page) and the DAGs page with a search that matches nothing.
 *
 *   npm run bench --workspace @updraft/ui [-- --runs 500 --dags 5000 --tasks 5000]
 * UPDRAFT_UI_DIR=<folder> measures an existing build; otherwise the UI is built into a temporary folder.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { sql } from "kysely";
import type { Page, Response } from "playwright-core";
import { hashPassword } from "../../updraft/src/api/auth/passwords.ts";
import { loadConfig } from "../../updraft/src/config/load.ts";
import { processDagFiles } from "../../updraft/src/dag-processing/processor.ts";
import { openDatabase, type Database } from "../../updraft/src/storage/database.ts";
import { migrateDatabase } from "../../updraft/src/storage/migrate.ts";
import { userStore } from "../../updraft/src/storage/users.ts";
import { CHROMIUM, freePort, launchBrowser, loggedInPage, sleep, UPDRAFT_BIN } from "../e2e/harness.ts";
import { bigDagSource, bigDagTasks } from "./big-dag.ts";
import { frameStats, type FrameStats } from "./frames.ts";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "500" },
    dags: { type: "string", default: "5000" },
    tasks: { type: "string", default: "5000" },
  },
});
const RUNS = Number(values.runs);
const DAGS = Number(values.dags);
const TASKS = Number(values.tasks);
const BIG = `big_${TASKS}_tasks`;
const began = performance.now();
const progress = (text: string) =>
  process.stderr.write(`[${((performance.now() - began) / 1000).toFixed(1).padStart(6)} s] ${text}\n`);

// ---- data -------------------------------------------------------------------------------------

function writeDagFiles(home: string): void {
  const dags = join(home, "dags");
  mkdirSync(dags, { recursive: true });
  writeFileSync(join(dags, `${BIG}.ts`), bigDagSource(BIG, bigDagTasks(TASKS)));
  // Small DAGs, 100 to a file (a file may define many): extract -> transform -> load.
  const perFile = 100;
  for (let f = 0; f * perFile < DAGS; f++) {
    const first = f * perFile;
    const count = Math.min(perFile, DAGS - first);
    writeFileSync(
      join(dags, `small_${String(f).padStart(3, "0")}.ts`),
      `import { bash, chain, dag, empty } from "updraft";
const TEAMS = ["core", "growth", "finance", "ops"];
export const dags = Array.from({ length: ${count} }, (_, k) => {
  const i = ${first} + k;
  return dag(
    { dagId: "dag_" + String(i).padStart(4, "0"), schedule: i % 3 ? "@daily" : "@hourly", startDate: "2024-01-01",
      catchup: false, tags: [TEAMS[i % 4], i % 7 ? "etl" : "report"], defaultArgs: { owner: TEAMS[(i >> 2) % 4] } },
    () => chain(empty("start"), bash("extract", { command: "true" }), bash("load", { command: "true" })),
  );
});
`,
    );
  }
}

/** The state of task `t` (its index in the DAG) in run `r`: mostly success, with failures, skips, retries. */
const TI_STATE = sql.raw(`case
  when r.idx = ${RUNS - 1} then case when t.idx < ${Math.floor(TASKS * 0.4)} then 'success'
    when t.idx < ${Math.floor(TASKS * 0.42)} then 'running' when t.idx < ${Math.floor(TASKS * 0.46)} then 'queued'
    else 'scheduled' end
  when r.idx % 17 = 5 and t.idx % 97 = 3 then 'failed'
  when r.idx % 17 = 5 and t.idx % 97 between 4 and 12 then 'upstream_failed'
  when r.idx % 23 = 7 and t.idx % 13 = 0 then 'skipped'
  when r.idx % 31 = 1 and t.idx % 101 = 0 then 'up_for_retry'
  else 'success' end`);

async function fillRuns(database: Database): Promise<void> {
  const day = 86_400_000;
  const start = Date.parse("2024-01-01T00:00:00Z");
  const rows = Array.from({ length: RUNS }, (_, r) => {
    const logical = new Date(start + r * day).toISOString();
    const end = new Date(start + (r + 1) * day).toISOString();
    const last = r === RUNS - 1;
    return {
      dag_id: BIG,
      run_id: `scheduled__${logical}`,
      logical_date: logical,
      data_interval_start: logical,
      data_interval_end: end,
      run_after: end,
      queued_at: end,
      start_date: end,
      end_date: last ? null : new Date(Date.parse(end) + 3_600_000).toISOString(),
      state: last ? "running" : r % 17 === 5 ? "failed" : "success",
      run_type: "scheduled",
      triggered_by: "timetable",
      conf: "{}",
      updated_at: end,
    };
  });
  for (let i = 0; i < rows.length; i += 200)
    await database.db
      .insertInto("dag_run")
      .values(rows.slice(i, i + 200))
      .execute();
  await sql`create table bench_task (task_id text not null, idx integer not null)`.execute(database.db);
  await sql`create table bench_run (run_id text not null, idx integer not null)`.execute(database.db);
  const tasks = bigDagTasks(TASKS);
  for (let i = 0; i < tasks.length; i += 400) {
    const part = tasks.slice(i, i + 400).map((t, k) => sql`(${t.id}, ${i + k})`);
    await sql`insert into bench_task (task_id, idx) values ${sql.join(part)}`.execute(database.db);
  }
  const runIds = rows.map((r, idx) => sql`(${r.run_id}, ${idx})`);
  for (let i = 0; i < runIds.length; i += 400)
    await sql`insert into bench_run (run_id, idx) values ${sql.join(runIds.slice(i, i + 400))}`.execute(
      database.db,
    );
  progress(`${RUNS} runs inserted; inserting ${RUNS * TASKS} task instances (one statement)`);
  await sql`insert into task_instance (dag_id, run_id, task_id, map_index, dag_run_id, state, try_number,
      max_tries, operator, pool, pool_slots, queue, priority_weight, start_date, end_date, duration, updated_at)
    select d.dag_id, d.run_id, t.task_id, -1, d.id, ${TI_STATE},
      case when ${TI_STATE} = 'scheduled' then 0 else 1 end, 0, 'BashOperator', 'default_pool', 1, 'default', 1,
      case when ${TI_STATE} in ('scheduled', 'queued') then null else d.start_date end,
      case when ${TI_STATE} in ('scheduled', 'queued', 'running') then null else d.start_date end,
      case when ${TI_STATE} in ('scheduled', 'queued', 'running') then null else 1.5 + (t.idx % 40) end,
      d.updated_at
    from dag_run d join bench_run r on r.run_id = d.run_id cross join bench_task t
    where d.dag_id = ${BIG}`.execute(database.db);
  await sql`drop table bench_task`.execute(database.db);
  await sql`drop table bench_run`.execute(database.db);
  await sql`analyze`.execute(database.db);
}

async function prepareHome(home: string): Promise<void> {
  const env = { UPDRAFT_HOME: home, UPDRAFT__CORE__LOAD_EXAMPLES: "false" };
  const config = loadConfig({ env });
  writeDagFiles(home);
  const database = openDatabase(config.values.database.url);
  try {
    await migrateDatabase(database);
    progress(`parsing the DAG files (${DAGS} small DAGs, one of ${TASKS} tasks)`);
    const summary = await processDagFiles(config, database);
    progress(`parsed: ${JSON.stringify(summary).slice(0, 200)}`);
    // Unpause them all, as a busy installation looks.
    await database.db.updateTable("dag").set({ is_paused: 0 }).execute();
    await fillRuns(database);
    await userStore(database).create({
      username: "bench",
      role: "Admin",
      passwordHash: await hashPassword("bench"),
    });
  } finally {
    await database.close();
  }
}

// ---- the server and the browser -------------------------------------------------------------------

function buildUi(): string {
  if (process.env.UPDRAFT_UI_DIR) return process.env.UPDRAFT_UI_DIR;
  const dir = mkdtempSync(join(tmpdir(), "updraft-bench-ui-"));
  progress(`building the UI into ${dir}`);
  const built = spawnSync("npx", ["vite", "build", "--logLevel", "warn"], {
    cwd: new URL("..", import.meta.url).pathname,
    env: { ...process.env, UPDRAFT_UI_DIR: dir },
    stdio: "inherit",
  });
  if (built.status !== 0) throw new Error("the UI build failed");
  return dir;
}

async function startWebserver(home: string, uiDir: string): Promise<{ base: string; child: ChildProcess }> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, [UPDRAFT_BIN, "webserver"], {
    env: {
      ...process.env,
      UPDRAFT_HOME: home,
      UPDRAFT_UI_DIR: uiDir,
      UPDRAFT__CORE__LOAD_EXAMPLES: "false",
      UPDRAFT__API__PORT: String(port),
      UPDRAFT__API__HOST: "127.0.0.1",
      UPDRAFT__LOGGING__LEVEL: "warn",
    },
    stdio: ["ignore", "ignore", "inherit"],
  });
  for (let i = 0; ; i++) {
    if (
      await fetch(`${base}/api/v2/monitor/health`).then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
    if (child.exitCode !== null) throw new Error(`updraft webserver exited (${child.exitCode})`);
    if (i > 600) throw new Error("updraft webserver did not come up in 60 s");
    await sleep(100);
  }
  return { base, child };
}

/** Rows per API answer, by what the page was doing when the answer came. */
class RowWatch {
  phase = "";
  readonly most = new Map<string, { rows: number; url: string }>();
  constructor(page: Page) {
    page.on("response", (r) => void this.seen(r));
  }
  private async seen(response: Response) {
    const url = response.url();
    if (!url.includes("/api/v2/") || !(response.headers()["content-type"] ?? "").includes("json")) return;
    const phase = this.phase;
    const body = (await response.json().catch(() => null)) as Record<string, unknown> | null;
    if (!body) return;
    let rows = 0;
    for (const key of ["dags", "dag_runs", "task_instances", "tasks"])
      if (Array.isArray(body[key])) rows += (body[key] as unknown[]).length;
    const best = this.most.get(phase);
    if (!best || rows > best.rows) this.most.set(phase, { rows, url: url.replace(/^https?:\/\/[^/]+/, "") });
  }
}

/** Navigates and answers the ms from navigation start to the first frame where `ready` holds. */
async function timeToReady(page: Page, url: string, ready: Ready, timeoutMs = 60_000): Promise<number> {
  await page.goto(url, { waitUntil: "commit" });
  const handle = await page.waitForFunction(
    (which) => {
      const links = () => [...document.querySelectorAll("a")].map((a) => a.textContent!.trim());
      const checks: Record<Ready, () => unknown> = {
        emptyDags: () =>
          document.querySelector("h1")?.textContent!.includes("DAGs") &&
          !document.querySelector('[aria-busy="true"]'),
        dags: () => links().some((text) => /^dag_\d{4}$/.test(text)),
        // The graph opens whole: a big one zoomed out, drawn on the canvas overview.
        graph: () =>
          document.querySelector('[data-testid="graph-canvas"][data-layout-ms]') &&
          (document.querySelector(".react-flow__node") ||
            document.querySelector('[data-testid="graph-overview"]')),
        grid: () => document.querySelector('[data-testid="grid-scroll"]'),
      };
      return checks[which]() ? performance.now() : false;
    },
    ready,
    { polling: "raf", timeout: timeoutMs },
  );
  return (await handle.jsonValue()) as number;
}
type Ready = "emptyDags" | "dags" | "graph" | "grid";

// ---- the measurements -----------------------------------------------------------------------------

interface Figures {
  baselineApi: number;
  baselinePage: number;
  dagsFirstPage: number;
  dagsRowsShown: number;
  graphOpen: number;
  graphLayoutMs: string;
  graphNodesDom: number;
  graphEdgesDom: number;
  graphPan: FrameStats;
  graphZoom: FrameStats;
  graphPanOut: FrameStats;
  graphZoomLevel: string;
  gridOpen: number | null;
  gridFrames: FrameStats | null;
  gridRowsShown: string;
  paneOpen: number | null;
  paneFrames: FrameStats | null;
}

async function measureDags(page: Page, base: string, watch: RowWatch, figures: Partial<Figures>) {
  watch.phase = "baseline";
  const rt: number[] = [];
  for (let i = 0; i < 20; i++)
    rt.push(
      await page.evaluate(async () => {
        const t0 = performance.now();
        await (await fetch("/api/v2/version")).json();
        return performance.now() - t0;
      }),
    );
  figures.baselineApi = rt.sort((a, b) => a - b)[10]!;
  progress(`baseline API round trip (median of 20): ${figures.baselineApi.toFixed(1)} ms`);
  const emptyTimes: number[] = [];
  const dagTimes: number[] = [];
  for (let i = 0; i < 3; i++) {
    watch.phase = "baseline";
    emptyTimes.push(await timeToReady(page, `${base}/?search=no-such-dag-${i}`, "emptyDags"));
    watch.phase = "dags";
    dagTimes.push(await timeToReady(page, `${base}/`, "dags"));
  }
  figures.baselinePage = emptyTimes.sort((a, b) => a - b)[1]!;
  figures.dagsFirstPage = dagTimes.sort((a, b) => a - b)[1]!;
  figures.dagsRowsShown = await page.evaluate(
    () => [...document.querySelectorAll("a")].filter((a) => /^dag_\d{4}$/.test(a.textContent!.trim())).length,
  );
  progress(
    `DAGs page: first page in ${figures.dagsFirstPage.toFixed(0)} ms (runs: ${dagTimes.map((t) => t.toFixed(0)).join(", ")}); empty page ${figures.baselinePage.toFixed(0)} ms; ${figures.dagsRowsShown} DAG rows shown`,
  );
}

/** With UI_BENCH_PROFILE=1: a CPU profile of opening the graph, its heaviest functions printed. */
async function profileGraph(page: Page, base: string) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Profiler.enable");
  await cdp.send("Profiler.setSamplingInterval", { interval: 200 });
  await cdp.send("Profiler.start");
  await timeToReady(page, `${base}/dags/${BIG}?tab=graph&profile=1`, "graph");
  const { profile } = await cdp.send("Profiler.stop");
  const self = new Map<string, number>();
  const dt = profile.timeDeltas ?? [];
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  (profile.samples ?? []).forEach((id, i) => {
    const f = byId.get(id)!.callFrame;
    const key = `${f.functionName || "(anon)"} ${f.url.split("/").pop()}:${f.lineNumber}`;
    self.set(key, (self.get(key) ?? 0) + (dt[i] ?? 0) / 1000);
  });
  const top = [...self].sort((a, b) => b[1] - a[1]).slice(0, 30);
  for (const [name, ms] of top) progress(`  profile ${ms.toFixed(1).padStart(7)} ms  ${name}`);
}

async function measureGraph(page: Page, base: string, watch: RowWatch, figures: Partial<Figures>) {
  watch.phase = "graph";
  if (process.env.UI_BENCH_PROFILE) await profileGraph(page, base);
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    watch.phase = "graph";
    // a new document each time: the layout cache is per page, so every open lays out again
    times.push(await timeToReady(page, `${base}/dags/${BIG}?tab=graph&i=${i}`, "graph"));
    const tasksAnswer = await page.evaluate(() => {
      const entry = performance.getEntriesByType("resource").find((e) => e.name.includes("/tasks")) as
        PerformanceResourceTiming | undefined;
      return entry
        ? `tasks answer requested at ${entry.startTime.toFixed(0)} ms, in by ${entry.responseEnd.toFixed(0)} ms, ${(entry.encodedBodySize / 1024).toFixed(0)} KB`
        : "no tasks answer seen";
    });
    progress(`graph open #${i + 1}: ${times[i]!.toFixed(0)} ms (${tasksAnswer})`);
  }
  figures.graphOpen = times.sort((a, b) => a - b)[1]!;
  figures.graphLayoutMs = await page
    .getByTestId("graph-canvas")
    .evaluate(
      (el) => `${el.dataset.tasks} tasks · laid out in ${el.dataset.layoutMs} ms (${el.dataset.engine})`,
    );
  // The rest is measured at a readable zoom, as before the graph opened whole: on the first task.
  await page.getByLabel("Find task").fill("start");
  await page.getByLabel("Find task").press("Enter");
  await page.locator(".react-flow__node").first().waitFor();
  await page
    .waitForFunction(() => document.querySelector('.graph-node[data-state="success"]'), undefined, {
      timeout: 15_000,
    })
    .catch(() => progress("graph: no node coloured by the run's states within 15 s (see the server's log)"));
  figures.graphNodesDom = await page.locator(".react-flow__node").count();
  figures.graphEdgesDom = await page.locator(".react-flow__edge").count();
  progress(
    `graph: ${figures.graphLayoutMs}; ${figures.graphNodesDom} nodes and ${figures.graphEdgesDom} edges in the DOM; panning and zooming`,
  );
  const box = (await page.getByTestId("graph-canvas").boundingBox())!;
  const [cx, cy] = [box.x + box.width / 2, box.y + box.height / 2];
  const drag = async (steps: number, dx: number, dy: number) => {
    await page.mouse.move(cx, cy);
    await page.mouse.down();
    for (let s = 1; s <= steps; s++) await page.mouse.move(cx + (s * dx) / steps, cy + (s * dy) / steps);
    await page.mouse.up();
  };
  const wheel = async (steps: number, delta: number) => {
    await page.mouse.move(cx, cy); // over the graph: a drag may have ended outside it
    for (let s = 0; s < steps; s++) {
      await page.mouse.wheel(0, delta);
      await sleep(40);
    }
  };
  const record = async (what: string, gesture: () => Promise<void>) => {
    await page.evaluate(startRecording);
    await gesture();
    const stats = frameStats(await page.evaluate(stopRecording));
    progress(`graph ${what}: ${JSON.stringify(stats)}`);
    return stats;
  };
  await page.mouse.move(cx, cy);
  figures.graphPan = await record("pan at the opening zoom", async () => {
    await drag(120, -480, -360);
    await drag(120, 300, 600);
  });
  figures.graphZoom = await record("zoom out and in (wheel)", async () => {
    await wheel(14, 120);
    await wheel(14, -120);
  });
  await wheel(16, 120);
  figures.graphPanOut = await record("pan zoomed out", async () => {
    await drag(120, 500, 300);
    await drag(120, -500, -300);
  });
  figures.graphZoomLevel = await page.evaluate(() =>
    (document.querySelector(".react-flow__viewport") as HTMLElement).style.transform.replace(
      /.*scale\(([^)]+)\).*/,
      "$1",
    ),
  );
}

async function measureGrid(page: Page, base: string, watch: RowWatch, figures: Partial<Figures>) {
  watch.phase = "grid";
  try {
    figures.gridOpen = await timeToReady(page, `${base}/dags/${BIG}?tab=grid`, "grid", 20_000);
  } catch {
    progress(`grid: no [data-testid="grid-scroll"] on the page within 20 s (the grid is not built yet?)`);
    figures.gridOpen = null;
    figures.gridFrames = null;
    figures.gridRowsShown = "–";
    return;
  }
  await sleep(1000);
  progress(`grid shown in ${figures.gridOpen.toFixed(0)} ms; scrolling both ways`);
  await page.evaluate(startRecording);
  await page.evaluate(scrollGrid);
  figures.gridFrames = frameStats(await page.evaluate(stopRecording));
  figures.gridRowsShown = await page.evaluate(() => {
    const el = document.querySelector('[data-testid="grid-scroll"]')!;
    return `${el.querySelectorAll('[role="row"], tr').length} rows, ${el.querySelectorAll('[role="gridcell"], td, button').length} cells in the DOM`;
  });
  progress(`grid frames: ${JSON.stringify(figures.gridFrames)}`);
}

/** A click on a cell of the newest run to the pane's facts and log drawn; then the grid scrolled with it open. */
async function measureGridPane(page: Page, watch: RowWatch, figures: Partial<Figures>) {
  watch.phase = "pane";
  figures.paneOpen = null;
  figures.paneFrames = null;
  if (figures.gridOpen === null) return;
  await page.evaluate(() =>
    document.querySelector('[data-testid="grid-scroll"]')!.scrollTo({ top: 0, left: 1e9 }),
  );
  await sleep(1000);
  const cell = page.locator('a[role="gridcell"]').last();
  const t0 = await page.evaluate(() => performance.now());
  await cell.click();
  const shown = await page.waitForFunction(
    () =>
      document.querySelector('[aria-label="Task instance details"] [aria-label="Summary"]') &&
      document.querySelector('[aria-label="Task instance details"] [aria-label="Log"]')
        ? performance.now()
        : false,
    undefined,
    { polling: "raf", timeout: 20_000 },
  );
  figures.paneOpen = ((await shown.jsonValue()) as number) - t0;
  progress(`details pane shown in ${figures.paneOpen.toFixed(0)} ms; scrolling the grid beside it`);
  await sleep(1000);
  await page.evaluate(startRecording);
  await page.evaluate(scrollGrid);
  figures.paneFrames = frameStats(await page.evaluate(stopRecording));
  progress(`grid frames with the pane open: ${JSON.stringify(figures.paneFrames)}`);
}

// In-page helpers (serialised into the page by page.evaluate).
function startRecording() {
  const w = window as unknown as { __frames: number[]; __recording: boolean };
  w.__frames = [];
  w.__recording = true;
  let last = performance.now();
  const tick = (now: number) => {
    w.__frames.push(now - last);
    last = now;
    if (w.__recording) requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}
function stopRecording(): number[] {
  const w = window as unknown as { __frames: number[]; __recording: boolean };
  w.__recording = false;
  return w.__frames.slice(1);
}
async function scrollGrid() {
  const el = document.querySelector('[data-testid="grid-scroll"]') as HTMLElement;
  const frame = () => new Promise((resolve) => requestAnimationFrame(resolve));
  const run = async (steps: number, dx: number, dy: number) => {
    for (let i = 0; i < steps; i++) {
      el.scrollBy(dx, dy);
      await frame();
    }
  };
  // The grid opens at the newest run (its right edge): left first, so both directions move.
  await run(120, 0, 60);
  await run(120, 0, -60);
  await run(120, -60, 0);
  await run(120, 60, 0);
  await run(90, -40, 40);
}

// ---- the run ----------------------------------------------------------------------------------------

const home = mkdtempSync(join(tmpdir(), "updraft-bench-ui-home-"));
let server: ChildProcess | undefined;
let uiDir: string | undefined;
try {
  progress(`home ${home}; chromium ${CHROMIUM}`);
  uiDir = buildUi();
  await prepareHome(home);
  progress("data ready; starting updraft webserver");
  const { base, child } = await startWebserver(home, uiDir);
  server = child;
  const browser = await launchBrowser();
  const page = await loggedInPage(browser, base, "bench", "bench");
  const watch = new RowWatch(page);
  const figures: Partial<Figures> = {};
  await measureDags(page, base, watch, figures);
  await measureGraph(page, base, watch, figures);
  await measureGrid(page, base, watch, figures);
  await measureGridPane(page, watch, figures);
  await sleep(500);
  await browser.close();
  printTable(figures as Figures, watch);
} finally {
  if (server && server.exitCode === null) {
    server.kill("SIGTERM");
    await new Promise((resolve) => server!.once("exit", resolve));
  }
  rmSync(home, { recursive: true, force: true });
  if (uiDir && !process.env.UPDRAFT_UI_DIR) rmSync(uiDir, { recursive: true, force: true });
}

function printTable(f: Figures, watch: RowWatch) {
  const ms = (n: number | null) => (n === null ? "–" : `${n.toFixed(0)} ms`);
  const frames = (s: FrameStats | null) =>
    s
      ? `p50 ${s.p50.toFixed(1)} / p95 ${s.p95.toFixed(1)} / max ${s.max.toFixed(0)} ms; ${s.dropped} dropped of ${s.frames + s.dropped}`
      : "– (no grid-scroll element)";
  const most = (phase: string) => {
    const m = watch.most.get(phase);
    return m ? `${m.rows} (${m.url.slice(0, 70)})` : "–";
  };
  const rows: string[][] = [
    ["baseline: API round trip (GET /version from the page)", ms(f.baselineApi), "–", "–", most("baseline")],
    ["baseline: DAGs page, search matching nothing", ms(f.baselinePage), "–", "0", "–"],
    [
      "DAGs page over 5,000 DAGs: first page shown",
      ms(f.dagsFirstPage),
      "< 500 ms",
      `${f.dagsRowsShown} DAGs`,
      most("dags"),
    ],
    [
      `graph of ${TASKS} tasks: laid out and drawn`,
      ms(f.graphOpen),
      "< 1500 ms",
      `${TASKS} tasks (${f.graphNodesDom} nodes, ${f.graphEdgesDom} edges in DOM)`,
      most("graph"),
    ],
    ["graph: pan at the opening zoom, frame times", frames(f.graphPan), "no stutter", "", ""],
    ["graph: zoom out and back in (wheel), frame times", frames(f.graphZoom), "no stutter", "", ""],
    [
      `graph: pan zoomed out (zoom ${Number(f.graphZoomLevel).toFixed(2)}), frame times`,
      frames(f.graphPanOut),
      "no stutter",
      "",
      "",
    ],
    [`grid of ${RUNS} runs: shown`, ms(f.gridOpen), "", f.gridRowsShown, most("grid")],
    ["grid: scroll both ways frame times", frames(f.gridFrames), "smooth", "", ""],
    ["grid: click a cell to its details pane shown", ms(f.paneOpen), "< 500 ms", "", most("pane")],
    ["grid: scroll both ways with the pane open, frame times", frames(f.paneFrames), "smooth", "", ""],
  ];
  const head = ["measure", "figure", "target", "rows shown", "most rows in one API answer"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => "| " + cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ") + " |";
  console.log([line(head), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n"));
  console.log(
    `\n${f.graphLayoutMs}\n${DAGS} small DAGs; big DAG ${TASKS} tasks x ${RUNS} runs; chromium ${CHROMIUM}; node ${process.version}`,
  );
}
