/**
 * `dags test`: one run of one DAG, driven to the end in this process without a scheduler: the same
 * decisions and the same task runner, only this run's task instances, every task's log on stdout.
 * Testing the same logical date again replaces the earlier test run with everything recorded for it
 * (task instances, finished tries, XComs), never a real run.
 */
import { runIdFor } from "../core/timetables/index.ts";
import type { TaskRunnerDeps } from "../executor/run-task-instance.ts";
import { runTaskInstance } from "../executor/run-task-instance.ts";
import type { Logger } from "../logging.ts";
import type { Database } from "../storage/database.ts";
import { nowIso } from "../storage/database.ts";
import { dagRunStore } from "../storage/dag-runs.ts";
import type { DagRunRow } from "../storage/schema.ts";
import { keyString, taskInstanceStore, type TaskInstanceKey } from "../storage/task-instances.ts";
import { examineRuns } from "../scheduler/examine-runs.ts";
import { triggerDagRun } from "./trigger-run.ts";
import { dirname } from "node:path";
import type { Connection } from "../connections/uri.ts";
import { triggerStore } from "../storage/triggers.ts";
import { Triggerer } from "../triggerer/triggerer.ts";
import { callbackStore } from "../storage/callbacks.ts";

const TEST_TRIGGER = "test";

/** Creates the test run of `dagId` at `logicalDate`, first deleting an earlier test run of that date. */
export async function startTestRun(
  database: Database,
  o: { dagId: string; logicalDate: Date; conf?: Record<string, unknown> },
): Promise<DagRunRow> {
  const runs = dagRunStore(database);
  const runId = runIdFor("manual", o.logicalDate);
  const earlier = await runs.get(o.dagId, runId);
  // A real run with this id stays: triggering then fails with ALREADY_EXISTS.
  if (earlier?.triggered_by === TEST_TRIGGER) await runs.delete(o.dagId, runId);
  return triggerDagRun(database, {
    dagId: o.dagId,
    conf: o.conf,
    logicalDate: o.logicalDate,
    triggeredBy: TEST_TRIGGER,
  });
}

export async function driveRun(
  database: Database,
  deps: TaskRunnerDeps,
  run: DagRunRow,
  o: {
    log: Logger;
    parallelism: number;
    /** Stops driving (the tries running end first); the run's state then is what is returned. */
    signal?: AbortSignal;
  },
): Promise<string> {
  // A finished run is not restarted: examining it below gives its outcome.
  await dagRunStore(database).transition(run.id, ["queued", "running"], "running", { start_date: nowIso() });
  const tis = taskInstanceStore(database);
  // The tries running now: the examination may stop them (a dagrunTimeout), as the scheduler does.
  const running = new Map<string, { controller: AbortController; done: Promise<void> }>();
  const cancel = (key: TaskInstanceKey) => {
    const entry = running.get(keyString(key));
    entry?.controller.abort();
    return entry !== undefined;
  };
  let lookedAgain = false;
  let triggers: Triggerer | undefined;
  for (;;) {
    if (o.signal?.aborted) {
      await Promise.all([...running.values()].map((r) => r.done));
      await triggers?.stop();
      return (await dagRunStore(database).get(run.dag_id, run.run_id))?.state ?? "unknown";
    }
    await examineRuns(database, {
      now: nowIso(),
      log: o.log,
      cancel,
      runIds: [run.id],
      maxMapLength: deps.maxMapLength,
      // One run: examined every time (a try that ended during the last examination is seen now).
      always: true,
    });
    const current = await database.db
      .selectFrom("dag_run")
      .select("state")
      .where("id", "=", run.id)
      .executeTakeFirstOrThrow();
    if (current.state === "success" || current.state === "failed") {
      await Promise.all([...running.values()].map((r) => r.done));
      // The DAG's callback for the end runs before the test ends, as Airflow's dag.test() runs it.
      if (await callbacksPending(database, run)) {
        triggers ??= await inlineTriggerer(database, deps, o.log);
        await waitForCallbacks(database, run, o.signal);
      }
      await triggers?.stop();
      return current.state;
    }
    // Deadlines passed meanwhile are missed here (no scheduler runs), their callbacks by the triggerer.
    if ((await callbackStore(database).missDueDeadlines(nowIso())) > 0)
      triggers ??= await inlineTriggerer(database, deps, o.log);
    const rows = await tis.listByRun(run.id);
    const ready = rows
      .filter((t) => t.state === "scheduled")
      .slice(0, Math.max(0, o.parallelism - running.size));
    if (rows.some((t) => t.state === "deferred")) {
      // Deferred tasks wait on triggers: a triggerer in this process runs them, as Airflow's dag.test().
      triggers ??= await inlineTriggerer(database, deps, o.log);
      await triggerStore(database).timeOutDeferred(nowIso());
      if (ready.length === 0 && running.size === 0) {
        await sleep(TRIGGER_WAIT_MS);
        continue;
      }
    }
    if (ready.length === 0 && running.size === 0) {
      // A retry or a reschedule-mode sensor's next check: the run waits for it.
      const retries = rows.map((t) =>
        t.state === "up_for_retry" || t.state === "up_for_reschedule" ? t.next_retry_at : null,
      );
      if (retries.every((r) => r === null)) {
        // A try that ended while the run was being examined was not seen by it: look once more
        // before concluding that nothing can start.
        if (!lookedAgain) {
          lookedAgain = true;
          continue;
        }
        o.log.error(
          { waiting: rows.filter((t) => t.state === null).map((t) => t.task_id) },
          "no task can start (a dependsOnPast task whose previous run did not succeed?)",
        );
        return "failed";
      }
      await waitForRetry(retries);
      continue;
    }
    lookedAgain = false;
    for (const t of ready) {
      const key = { dagId: t.dag_id, runId: t.run_id, taskId: t.task_id, mapIndex: t.map_index };
      if (!(await tis.transition(key, "scheduled", "queued", { queued_dttm: nowIso() }))) continue;
      const controller = new AbortController();
      const claimed = { ...key, dagRunId: run.id, tryNumber: t.try_number, pool: t.pool };
      const done = runTaskInstance(deps, claimed, controller.signal)
        .catch((error: unknown) => o.log.error({ err: error, ...key }, "the task runner failed"))
        .finally(() => running.delete(keyString(key)));
      running.set(keyString(key), { controller, done });
    }
    // On as soon as a try ends, or after a while to notice a dagrunTimeout.
    await Promise.race([...[...running.values()].map((r) => r.done), sleep(EXAMINE_WHILE_RUNNING_MS)]);
  }
}

/** How often a run whose tasks are all deferred looks for a fired trigger. */
const TRIGGER_WAIT_MS = 100;

/**
 * A triggerer in this process for a test run's deferred tasks (built-in triggers here, custom ones in
 * its child process), claiming every 100 ms so a test waits little more than its triggers do.
 */
async function inlineTriggerer(database: Database, deps: TaskRunnerDeps, log: Logger): Promise<Triggerer> {
  const triggerer = new Triggerer({
    database,
    connection: async (connId) => (await deps.lookup?.("connection", connId)) as Connection | undefined,
    log,
    capacity: 1000,
    leaseSeconds: 30,
    dagsFolder: dirname(deps.resolveFile("_")),
    claimEveryMs: TRIGGER_WAIT_MS,
    lookup: async (what, key) => (await deps.lookup?.(what, key)) as Record<string, unknown> | undefined,
    resolveFile: (fileloc) => deps.resolveFile(fileloc),
  });
  await triggerer.start();
  return triggerer;
}

async function callbacksPending(database: Database, run: DagRunRow): Promise<boolean> {
  const row = await database.db
    .selectFrom("callback_request")
    .select("id")
    .where("dag_run_id", "=", run.id)
    .where("state", "in", ["queued", "running"])
    .executeTakeFirst();
  return row !== undefined;
}

/** Until the run's callback requests are done (each is bounded by `[core] callback_timeout`). */
async function waitForCallbacks(database: Database, run: DagRunRow, signal?: AbortSignal): Promise<void> {
  while (!signal?.aborted && (await callbacksPending(database, run))) await sleep(TRIGGER_WAIT_MS);
}

/** How often a run with tries still going is examined (its dagrunTimeout noticed). */
const EXAMINE_WHILE_RUNNING_MS = 500;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

/** Nothing to run: the run waits for a retry delay (or nothing at all, and examineRuns settles it). */
async function waitForRetry(retryTimes: (string | null)[]): Promise<void> {
  const next = retryTimes.filter((t): t is string => t !== null).sort()[0];
  const ms = next ? Math.max(0, Date.parse(next) - Date.now()) : 0;
  await new Promise((r) => setTimeout(r, Math.min(ms, 60_000) + 5));
}
