/**
 * Scheduler memory with many tasks running at once: the scheduler process's RSS when idle and at the
 * peak of 10, 100 and 1,000 bash tasks sleeping at the same time (SQLite, the local executor). Baseline
 * in the same run: the idle scheduler. Target: 1,000 running tasks cost at most 50 MB over idle.
 *
 *   npm run bench:memory [-- --counts 10,100,1000 --sleep 30 --alloc-profile FILE.heapprofile]
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { pino } from "pino";
import { loadConfig } from "../src/config/load.ts";
import { processDagFiles } from "../src/dag-processing/processor.ts";
import { createScheduler } from "../src/scheduler/runtime.ts";
import { triggerDagRun } from "../src/operations/trigger-run.ts";
import { createCipher } from "../src/secrets/cipher.ts";
import { openDatabase } from "../src/storage/database.ts";
import { dagRunStore } from "../src/storage/dag-runs.ts";
import { migrateDatabase } from "../src/storage/migrate.ts";
import { poolStore } from "../src/storage/pools.ts";

const { values } = parseArgs({
  options: {
    counts: { type: "string", default: "10,100,1000" },
    sleep: { type: "string", default: "30" },
    /** Writes a sampling profile of every allocation (collected or not), to find what churns the heap. */
    "alloc-profile": { type: "string" },
  },
});
const COUNTS = values.counts.split(",").map(Number);
const MAX = Math.max(...COUNTS);

const home = mkdtempSync(join(tmpdir(), "updraft-bench-mem-"));
mkdirSync(join(home, "dags"));
for (const n of COUNTS) {
  writeFileSync(
    join(home, "dags", `sleep_${n}.ts`),
    `import { dag, bash } from "updraft";
export default dag({ dagId: "sleep_${n}", maxActiveTasks: ${n} }, () => {
  for (let i = 0; i < ${n}; i++) bash("s" + i, { command: "sleep ${values.sleep}", pool: "unlimited" });
});`,
  );
}
const config = loadConfig({
  env: {
    UPDRAFT_HOME: home,
    UPDRAFT__CORE__LOAD_EXAMPLES: "false",
    UPDRAFT__CORE__DAGS_ARE_PAUSED_AT_CREATION: "false",
    UPDRAFT__CORE__PARALLELISM: String(MAX),
  },
});
const database = openDatabase(config.values.database.url);
await migrateDatabase(database);
await poolStore(database).set({ name: "unlimited", slots: -1 });
await processDagFiles(config, database);
const { scheduler, close } = createScheduler({
  config,
  database,
  log: pino({ level: "warn" }),
  cipher: createCipher(config.values.security.encryption_key),
  openLog: async () => ({ write: () => undefined, close: async () => undefined }),
  loopIntervalMs: 200,
});
await scheduler.start();
const { Session } = await import("node:inspector/promises");
const session = new Session();
if (values["alloc-profile"]) {
  session.connect();
  await session.post("HeapProfiler.startSampling", {
    samplingInterval: 32768,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  } as never);
}
const mib = (b: number) => b / 2 ** 20;
await new Promise((r) => setTimeout(r, 2000));
globalThis.gc?.();
const idle = process.memoryUsage().rss;
const rows: string[][] = [["idle", "0", `${mib(idle).toFixed(0)} MiB`, "-"]];
for (const n of COUNTS) {
  const run = await triggerDagRun(database, { dagId: `sleep_${n}`, runId: `mem_${n}` });
  let peak = 0;
  let peakRunning = 0;
  for (;;) {
    const running = await database.db
      .selectFrom("task_instance")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .where("dag_run_id", "=", run.id)
      .where("state", "=", "running")
      .executeTakeFirstOrThrow();
    const rss = process.memoryUsage().rss;
    if (Number(running.n) >= peakRunning) peakRunning = Number(running.n);
    peak = Math.max(peak, rss);
    const r = await dagRunStore(database).get(`sleep_${n}`, `mem_${n}`);
    if (r?.state === "success" || r?.state === "failed") break;
    await new Promise((res) => setTimeout(res, 250));
  }
  rows.push([
    `${n} bash tasks sleeping at once`,
    String(peakRunning),
    `${mib(peak).toFixed(0)} MiB`,
    `+${mib(peak - idle).toFixed(0)} MiB`,
  ]);
}
if (values["alloc-profile"]) {
  const { profile } = (await session.post("HeapProfiler.stopSampling")) as { profile: unknown };
  writeFileSync(values["alloc-profile"], JSON.stringify(profile));
  console.error(`allocation profile written to ${values["alloc-profile"]} (open it in Chrome DevTools)`);
}
await scheduler.stop();
await close();
await database.close();
rmSync(home, { recursive: true, force: true });
const head = ["case", "peak running", "scheduler RSS (peak)", "over idle"];
const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const line = (cells: string[]) => "| " + cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ") + " |";
console.log([line(head), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n"));
