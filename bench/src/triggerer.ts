/**
 * The triggerer benchmark (issue 19): N deferred task instances waiting on DateTimeTriggers spread
 * over a window, all held by ONE real `updraft triggerer` process. Reports the triggerer's process
 * tree RSS (peak while it holds them all) and the firing lateness: when the task instance became
 * scheduled (scheduled_dttm, written by the firing transaction) minus the trigger's moment.
 *
 *   npm run bench:triggerer                               10,000 triggers on SQLite, 20-60 s away
 *   npm run bench:triggerer -- --backend postgres --count 10000 --from 20 --to 60
 *
 * The rows are written straight to the tables (runs, task instances in "deferred", triggers), as a
 * task's runner leaves them when it defers: the benchmark measures the triggerer alone.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { dateTimeTrigger } from "../../packages/updraft/src/sdk/triggers.ts";
import { openDatabase } from "../../packages/updraft/src/storage/database.ts";
import { deferredRun } from "../../packages/updraft/src/test-support/deferred.ts";
import {
  dropDatabase,
  dropMysqlDatabase,
  freshDatabase,
  freshMysqlDatabase,
  log,
  sleep,
  treeRss,
} from "./util.ts";

const BIN = fileURLToPath(new URL("../../packages/updraft/bin/updraft.js", import.meta.url));
const RESULTS = fileURLToPath(new URL("../results/", import.meta.url));
const DATABASE_NAME = "updraft_bench_triggerer";
const PER_RUN = 500;

const { values } = parseArgs({
  options: {
    backend: { type: "string", default: "sqlite" },
    count: { type: "string", default: "10000" },
    from: { type: "string", default: "20" },
    to: { type: "string", default: "60" },
  },
});
const backend = values.backend as "sqlite" | "postgres" | "mysql";
const count = Number(values.count);
const fromS = Number(values.from);
const toS = Number(values.to);

function run(args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(BIN, args, { env, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("close", (code) =>
      code === 0 ? resolve() : reject(new Error(`updraft ${args.join(" ")} exited ${code}: ${stderr}`)),
    );
  });
}

const quantile = (sorted: number[], q: number) =>
  sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

async function main(): Promise<void> {
  const home = mkdtempSync(join(tmpdir(), "updraft-bench-trg-"));
  mkdirSync(join(home, "dags"));
  const url =
    backend === "sqlite"
      ? `sqlite:///${join(home, "updraft.db")}`
      : backend === "postgres"
        ? await freshDatabase(DATABASE_NAME)
        : await freshMysqlDatabase(DATABASE_NAME);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ""}`,
    UPDRAFT_HOME: home,
    UPDRAFT__DATABASE__URL: url,
    UPDRAFT__CORE__DAGS_FOLDER: join(home, "dags"),
    UPDRAFT__CORE__LOAD_EXAMPLES: "false",
    UPDRAFT__TRIGGERER__CAPACITY: String(count),
    UPDRAFT__LOGGING__LEVEL: "warn",
  };
  await run(["db", "migrate"], env);
  const database = openDatabase(url);
  let triggerer: ChildProcess | undefined;
  try {
    // Moments spread evenly over [from, to] seconds after the rows are written.
    const setupStart = Date.now();
    const base = Math.round(setupStart + fromS * 1000);
    const moments = new Map<string, number>();
    for (let r = 0; r * PER_RUN < count; r++) {
      const n = Math.min(PER_RUN, count - r * PER_RUN);
      const at = Array.from({ length: n }, (_, i) =>
        Math.round(base + ((r * PER_RUN + i) / Math.max(1, count - 1)) * (toS - fromS) * 1000),
      );
      const tasks = await deferredRun(
        database,
        "bench_deferred",
        `r${r}`,
        at.map((m) => dateTimeTrigger(new Date(m)).serialize()),
      );
      tasks.forEach((t, i) => moments.set(`${t.runId}/${t.taskId}`, at[i]!));
    }
    log(`${count} deferred task instances written in ${Date.now() - setupStart} ms`);
    if (Date.now() > base - 5000) throw new Error("setup took too long: raise --from");
    triggerer = spawn(BIN, ["triggerer"], { env, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    triggerer.stderr!.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    triggerer.on("exit", (code, signal) => log(`updraft triggerer exited (${code ?? signal}): ${stderr}`));
    const pid = triggerer.pid!;
    let peakRss = 0;
    let heldRss = 0;
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, treeRss([pid]).bytes);
    }, 250);
    // Held: every trigger claimed, none due yet.
    for (;;) {
      const row = await database.db
        .selectFrom("trigger")
        .select((eb) => eb.fn.countAll<number>().as("n"))
        .where("triggerer_id", "is not", null)
        .executeTakeFirstOrThrow();
      if (Number(row.n) === count) break;
      if (Date.now() > base)
        throw new Error(`only ${row.n} of ${count} triggers claimed before the first is due`);
      await sleep(200);
    }
    const claimedAfter = Date.now();
    await sleep(Math.max(0, Math.min(2000, base - Date.now() - 500)));
    heldRss = treeRss([pid]).bytes;
    log(`all ${count} triggers held; RSS ${(heldRss / 2 ** 20).toFixed(1)} MB`);
    const deadline = setupStart + toS * 1000 + 60_000;
    for (;;) {
      const row = await database.db
        .selectFrom("task_instance")
        .select((eb) => eb.fn.countAll<number>().as("n"))
        .where("dag_id", "=", "bench_deferred")
        .where("state", "=", "scheduled")
        .executeTakeFirstOrThrow();
      if (Number(row.n) === count) break;
      if (Date.now() > deadline) throw new Error(`only ${row.n} of ${count} fired`);
      await sleep(500);
    }
    clearInterval(sampler);
    const rows = await database.db
      .selectFrom("task_instance")
      .select(["run_id", "task_id", "scheduled_dttm"])
      .where("dag_id", "=", "bench_deferred")
      .execute();
    const lateness = rows
      .map((r) => Date.parse(r.scheduled_dttm!) - moments.get(`${r.run_id}/${r.task_id}`)!)
      .sort((a, b) => a - b);
    const result = {
      date: new Date().toISOString(),
      backend,
      triggers: count,
      windowSeconds: [fromS, toS],
      claimSeconds: (claimedAfter - setupStart) / 1000,
      heldRssMb: heldRss / 2 ** 20,
      peakRssMb: peakRss / 2 ** 20,
      latenessMs: {
        p50: quantile(lateness, 0.5),
        p99: quantile(lateness, 0.99),
        max: lateness.at(-1)!,
        min: lateness[0]!,
      },
    };
    mkdirSync(RESULTS, { recursive: true });
    writeFileSync(join(RESULTS, `triggerer-${backend}-latest.json`), JSON.stringify(result, null, 2) + "\n");
    const mb = (v: number) => v.toFixed(1);
    console.log(
      [
        "| backend | deferred task instances | triggerer RSS held / peak (MB) | lateness p50 | p99 | max |",
        "|---|---:|---:|---:|---:|---:|",
        `| ${backend} | ${count} | ${mb(result.heldRssMb)} / ${mb(result.peakRssMb)} | ${result.latenessMs.p50} ms | ${result.latenessMs.p99} ms | ${result.latenessMs.max} ms |`,
      ].join("\n"),
    );
    // The targets (issue 19): the triggers held while they wait under 100 MB; firing at most 1 s late
    // at p99. The peak while thousands fire a second is reported, not judged.
    const held = result.heldRssMb < 100;
    const onTime = result.latenessMs.p99 <= 1000;
    console.log(
      `- held under 100 MB: ${held ? "met" : "NOT met"}; p99 lateness <= 1 s: ${onTime ? "met" : "NOT met"}`,
    );
    if (!held || !onTime) process.exitCode = 1;
  } finally {
    if (triggerer && triggerer.exitCode === null) {
      const exited = new Promise((r) => triggerer!.once("exit", r));
      triggerer.kill("SIGTERM");
      await exited;
    }
    await database.close();
    rmSync(home, { recursive: true, force: true });
    if (backend === "postgres") await dropDatabase(DATABASE_NAME);
    if (backend === "mysql") await dropMysqlDatabase(DATABASE_NAME);
  }
}

await main();
