/**
 * `dag.test()`: one run of a DAG, from the DAG file's own process (`node dags/etl.ts`), as Airflow's
 * `dag.test()`. It is `updraft dags test` (test-run.ts) with two differences:
 * - the DAG is the object already loaded here, stored as the DAG processor would store it, and its
 *   TypeScript tasks are called in this process (runner/taskflow-in-process.ts), so a debugger
 *   attached to it stops in task code; bash tasks still run as child processes;
 * - by default the run goes into a throwaway SQLite database (migrated, in a temporary folder with
 *   the tries' logs, deleted afterwards), so testing needs no installation; `useConfig: true` uses the
 *   configured database and log folder instead, as `dags test` does.
 * The decisions (trigger rules, retries, mapping, branching, setup/teardown) and the task runner are
 * the real ones: driveRun and runTaskInstance. Every task's log is printed as it is written, each
 * line after its task id, then a summary; a failed run sets process.exitCode to 1.
 */
import { dagRunAccess } from "./trigger-run.ts";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, relative, sep } from "node:path";
import { loadConfig, type Config } from "../config/load.ts";
import { UpdraftError } from "../core/errors.ts";
import { serializeDefaults } from "../dag-processing/processor.ts";
import { createLogger } from "../logging.ts";
import { InProcessTaskFlow } from "../runner/taskflow-in-process.ts";
import { createTaskRunnerDeps } from "../scheduler/runtime.ts";
import type { Dag, DagTestOptions, DagTestResult } from "../sdk/index.ts";
import { createCipher } from "../secrets/cipher.ts";
import { openDatabase, redactUrl, type Database } from "../storage/database.ts";
import { dagStore } from "../storage/dags.ts";
import { migrateDatabase, migrationStatus } from "../storage/migrate.ts";
import type { DagRunRow } from "../storage/schema.ts";
import { taskInstanceStore } from "../storage/task-instances.ts";
import { driveRun, startTestRun } from "./test-run.ts";

export async function testDagInProcess(dag: Dag, options: DagTestOptions = {}): Promise<DagTestResult> {
  const logicalDate = logicalDateOf(dag, options.logicalDate);
  const scratch = options.useConfig ? undefined : mkdtempSync(join(tmpdir(), "updraft-dag-test-"));
  try {
    return await testIn(dag, { ...options, logicalDate }, scratch);
  } finally {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  }
}

/** The test run, its database and logs in `scratch` (a throwaway folder) unless it is undefined. */
async function testIn(
  dag: Dag,
  options: DagTestOptions & { logicalDate: Date },
  scratch: string | undefined,
): Promise<DagTestResult> {
  const file = dagFile();
  const config = testConfig(scratch, file);
  const database = openDatabase(config.values.database.url, { poolSize: config.values.database.pool_size });
  const taskflow = new InProcessTaskFlow([dag]);
  try {
    if (scratch) await migrateDatabase(database);
    else await assertMigrated(database, config);
    await storeDag(database, config, dag, file);
    const run = await startTestRun(database, {
      dagId: dag.dagId,
      conf: options.conf,
      logicalDate: options.logicalDate,
    });
    process.stderr.write(`Testing ${dag.dagId}: run ${run.run_id} (pid ${process.pid})\n`);
    // Only what goes wrong (or everything, at debug): the summary says how the run ended.
    const level = config.values.logging.level === "debug" ? "debug" : "warn";
    const log = createLogger("dag-test", level);
    // Every task's log, masked as in its file, also on stdout: past the capture of task output.
    const echo = (ti: { task_id: string }, text: string) => {
      for (const line of text.split("\n").filter(Boolean)) taskflow.print(`[${ti.task_id}] ${line}\n`);
    };
    const key = config.values.security.encryption_key;
    const deps = createTaskRunnerDeps(
      {
        config,
        database,
        log,
        logEcho: echo,
        cipher: key ? createCipher(key) : undefined,
        dagRunAccess: dagRunAccess(database),
      },
      taskflow,
    );
    // One task at a time, as Airflow's dag.test(): the output reads in order, and breakpoints follow.
    const state = await driveRun(database, deps, run, { log, parallelism: 1 });
    const result = await resultOf(database, dag, run, state);
    taskflow.print(summary(dag.dagId, result));
    if (result.state !== "success") process.exitCode = 1;
    return result;
  } finally {
    await taskflow.close();
    await database.close();
  }
}

/**
 * The configuration: the installation's (UPDRAFT_HOME, environment), so defaults, masking and
 * secrets from the environment (UPDRAFT_VAR_*, UPDRAFT_CONN_*) apply; for a throwaway run, its
 * database, logs and encryption key are the scratch folder's, and no configuration file is written.
 */
function testConfig(scratch: string | undefined, file: string | undefined): Config {
  if (!scratch) return loadConfig();
  return loadConfig({
    writeIfMissing: false,
    env: {
      ...process.env,
      UPDRAFT__DATABASE__URL: `sqlite:///${join(scratch, "updraft.db")}`,
      UPDRAFT__LOGGING__BASE_LOG_FOLDER: join(scratch, "logs"),
      UPDRAFT__SECURITY__ENCRYPTION_KEY: randomBytes(32).toString("base64url"),
      ...(file ? { UPDRAFT__CORE__DAGS_FOLDER: dirname(file) } : {}),
    },
  });
}

/** useConfig: the configured database must be Updraft's, migrated to this version. */
async function assertMigrated(database: Database, config: Config): Promise<void> {
  const pending = (await migrationStatus(database)).filter((m) => m.appliedAt === null);
  if (pending.length > 0)
    throw new UpdraftError(
      "DATABASE_UNREACHABLE",
      `test({ useConfig: true }): the database ${redactUrl(config.values.database.url)} is not migrated (${pending.length} migration(s) pending): run \`updraft db migrate\` first, or leave useConfig out to test on a throwaway database`,
    );
}

/** The file this process runs (the DAG file, under `node dags/etl.ts`), when there is one. */
function dagFile(): string | undefined {
  const main = process.argv[1];
  return main && existsSync(main) ? realpathSync(main) : undefined;
}

/** Stores the DAG as the DAG processor would, under its file's place in the DAGs folder. */
async function storeDag(database: Database, config: Config, dag: Dag, file: string | undefined) {
  const folder = config.values.core.dags_folder;
  const inside = file && existsSync(folder) && realpathSync(file).startsWith(realpathSync(folder) + sep);
  const fileloc = inside
    ? relative(realpathSync(folder), file).split(sep).join("/")
    : basename(file ?? dag.dagId);
  const source = file ? readFileSync(file, "utf8") : "";
  const contentHash = createHash("sha256").update(source).digest("hex");
  const serialized = dag.serialize({ fileloc, defaults: serializeDefaults(config) });
  await dagStore(database).syncFile(
    { fileloc, contentHash, source, durationMs: 0, dags: [serialized], errors: [] },
    { pausedAtCreation: config.values.core.dags_are_paused_at_creation },
  );
}

function logicalDateOf(dag: Dag, input: DagTestOptions["logicalDate"]): Date {
  if (input === undefined) return new Date();
  const date = input instanceof Date ? input : new Date(input);
  if (Number.isNaN(date.getTime()))
    throw new Error(
      `dag "${dag.dagId}": test({ logicalDate }) got ${JSON.stringify(input)}, which is not a date: pass a Date or an ISO 8601 string such as "2025-01-31T00:00:00Z"`,
    );
  return date;
}

/** The run's outcome and its task instances, in the DAG's order (then by map index). */
async function resultOf(database: Database, dag: Dag, run: DagRunRow, state: string) {
  const order = new Map(dag.taskIds.map((id, i) => [id, i]));
  const rows = (await taskInstanceStore(database).listByRun(run.id)).sort(
    (a, b) => (order.get(a.task_id) ?? 0) - (order.get(b.task_id) ?? 0) || a.map_index - b.map_index,
  );
  return {
    runId: run.run_id,
    state: state === "success" ? "success" : "failed",
    taskInstances: rows.map((t) => ({
      taskId: t.task_id,
      mapIndex: t.map_index,
      state: t.state,
      tryNumber: t.try_number,
    })),
  } satisfies DagTestResult;
}

/** One line per task instance, then the run's state. */
function summary(dagId: string, result: DagTestResult): string {
  const label = (t: DagTestResult["taskInstances"][number]) =>
    t.mapIndex >= 0 ? `${t.taskId}[${t.mapIndex}]` : t.taskId;
  const width = Math.max(...result.taskInstances.map((t) => label(t).length), 4);
  const lines = result.taskInstances.map(
    (t) =>
      `  ${label(t).padEnd(width)}  ${t.state ?? "none"}${t.tryNumber > 1 ? ` (try ${t.tryNumber})` : ""}`,
  );
  return `\nRun ${result.runId} of ${dagId}: ${result.state}\n${lines.join("\n")}\n`;
}
