/**
 * Updraft itself, run through its own code as `updraft scheduler` runs it: DAG files processed into
 * the metadata database, runs triggered, the scheduler loop and the local executor with the TaskFlow
 * pool, every state change recorded in SQLite or PostgreSQL.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { loadConfig } from "../../../packages/updraft/src/config/load.ts";
import { processDagFiles } from "../../../packages/updraft/src/dag-processing/processor.ts";
import { createScheduler } from "../../../packages/updraft/src/scheduler/runtime.ts";
import type { Scheduler } from "../../../packages/updraft/src/scheduler/scheduler.ts";
import { triggerDagRun } from "../../../packages/updraft/src/operations/trigger-run.ts";
import { createCipher } from "../../../packages/updraft/src/secrets/cipher.ts";
import { openDatabase, type Database } from "../../../packages/updraft/src/storage/database.ts";
import { migrateDatabase } from "../../../packages/updraft/src/storage/migrate.ts";
import { poolStore } from "../../../packages/updraft/src/storage/pools.ts";
import { dropDatabase, freshDatabase, log, sleep } from "../util.ts";
import type { Graph, Peer, RunResult, Times, WorkloadSpec } from "../workloads.ts";
import { taskCount } from "../workloads.ts";

const PG_DATABASE = "updraft_bench";

function taskLine(id: string, g: Graph): string {
  switch (g.body.kind) {
    case "noop":
      return `task(${JSON.stringify(id)}, () => null)()`;
    case "bash":
      return `bash(${JSON.stringify(id)}, { command: "true" })`;
    case "sleep":
      return `bash(${JSON.stringify(id)}, { command: "sleep ${g.body.seconds}" })`;
  }
}

/** A DAG file for a graph: task ids t0..tN (fan: t0 start, tN end; chain: in order). */
export function dagFile(g: Graph, concurrency: number): string {
  const n = taskCount(g.shape);
  const lines = [
    `import { dag, task, bash } from "updraft";`,
    `export default dag({ dagId: ${JSON.stringify(g.id)}, maxActiveTasks: ${concurrency}, maxActiveRuns: 4 }, () => {`,
    `  const t = [];`,
  ];
  for (let i = 0; i < n; i++) lines.push(`  t.push(${taskLine(`t${i}`, g)});`);
  if (g.shape.kind === "chain") lines.push(`  for (let i = 1; i < t.length; i++) t[i - 1].before(t[i]);`);
  if (g.shape.kind === "fan")
    lines.push(
      `  for (let i = 1; i < t.length - 1; i++) { t[0].before(t[i]); t[i].before(t[t.length - 1]); }`,
    );
  lines.push("});", "");
  return lines.join("\n");
}

export function updraftPeer(backend: "sqlite" | "postgres"): Peer {
  let home = "";
  let database: Database;
  let scheduler: Scheduler;
  let closeRuntime: () => Promise<void> = async () => undefined;
  let runIds = new Map<string, number>();

  return {
    name: "Updraft",
    backend,
    durable: true,
    how: "DAG files; runs triggered through triggerDagRun + scheduler.poke(); TypeScript no-op tasks in the TaskFlow worker pool, bash tasks via the bash runner",
    async setup(spec: WorkloadSpec, concurrency: number) {
      home = mkdtempSync(join(tmpdir(), "updraft-bench-"));
      mkdirSync(join(home, "dags"));
      for (const g of spec.graphs) writeFileSync(join(home, "dags", `${g.id}.ts`), dagFile(g, concurrency));
      const url =
        backend === "sqlite" ? `sqlite:///${join(home, "updraft.db")}` : await freshDatabase(PG_DATABASE);
      const config = loadConfig({
        env: {
          UPDRAFT_HOME: home,
          UPDRAFT__DATABASE__URL: url,
          UPDRAFT__CORE__LOAD_EXAMPLES: "false",
          UPDRAFT__CORE__DAGS_ARE_PAUSED_AT_CREATION: "false",
          UPDRAFT__CORE__PARALLELISM: String(concurrency),
          UPDRAFT__CORE__MAX_ACTIVE_TASKS_PER_DAG: String(concurrency),
        },
      });
      database = openDatabase(config.values.database.url);
      await migrateDatabase(database);
      // default_pool is created with 128 slots whatever the configuration says: give it enough.
      await poolStore(database).set({ name: "default_pool", slots: Math.max(128, concurrency) });
      const parsed = await processDagFiles(config, database);
      if (parsed.importErrors) throw new Error(`${parsed.importErrors} DAG files failed to import`);
      const runtime = createScheduler({
        config,
        database,
        log: pino({ level: "warn" }),
        cipher: createCipher(config.values.security.encryption_key),
        openLog: async () => ({ write: () => undefined, close: async () => undefined }),
      });
      scheduler = runtime.scheduler;
      closeRuntime = runtime.close;
      await scheduler.start();
    },
    async run(graphs: Graph[], tag: string): Promise<RunResult> {
      runIds = new Map();
      const runs = await Promise.all(
        graphs.map((g) => triggerDagRun(database, { dagId: g.id, runId: `bench_${tag}` })),
      );
      scheduler.poke();
      runs.forEach((r) => runIds.set(r.dag_id, r.id));
      const ids = runs.map((r) => r.id);
      for (;;) {
        const states = await database.db
          .selectFrom("dag_run")
          .select(["state"])
          .where("id", "in", ids)
          .execute();
        if (states.some((s) => s.state === "failed")) throw new Error("an Updraft DAG run failed");
        if (states.every((s) => s.state === "success")) break;
        await sleep(5);
      }
      if (graphs.length !== 1 || graphs[0]!.shape.kind !== "chain") return {};
      const g = graphs[0]!;
      const rows = await database.db
        .selectFrom("task_instance")
        .select(["task_id", "start_date", "end_date"])
        .where("dag_run_id", "=", runIds.get(g.id)!)
        .execute();
      const list: [number, number][] = new Array(taskCount(g.shape));
      for (const r of rows)
        list[Number(r.task_id.slice(1))] = [Date.parse(r.start_date!), Date.parse(r.end_date!)];
      const times: Times = new Map([[g.id, list]]);
      return { times };
    },
    async running() {
      const row = await database.db
        .selectFrom("task_instance")
        .select((eb) => eb.fn.countAll<number>().as("n"))
        .where("state", "=", "running")
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
    async teardown() {
      try {
        await scheduler?.stop();
        await closeRuntime();
        await database?.close();
      } finally {
        if (home) rmSync(home, { recursive: true, force: true });
        if (backend === "postgres")
          await dropDatabase(PG_DATABASE).catch((e) => log(`drop ${PG_DATABASE}: ${e}`));
      }
    },
  };
}
