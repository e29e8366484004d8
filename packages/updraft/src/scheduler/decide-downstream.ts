/**
 * The light examination of a run after some of its task instances finished: only what lies downstream
 * of them is decided, not the whole run. A task's upstream counts are read from the smaller side: its
 * upstream task instances, or, for a wide fan-in, the run's per-state totals minus the few task
 * instances outside its upstream. So each finished task costs a few rows, however wide the DAG.
 *
 * Anything this path does not cover (a run that timed out, a run whose every task instance finished
 * and needs its outcome, rows that do not match the DAG) is left to the full examination.
 */
import type { Transaction } from "kysely";
import { setupIds } from "../core/setup-teardown.ts";
import { downstreamOf, taskById, type SerializedDag } from "../core/serialized.ts";
import type { Database } from "../storage/database.ts";
import type { DagRunRow, Tables } from "../storage/schema.ts";
import { fromDb, taskInstanceStore } from "../storage/task-instances.ts";
import { isFinished } from "../core/states.ts";
import { countStates, countUpstream, evaluateRule, type UpstreamCounts } from "../core/trigger-rules.ts";
import type { TiState } from "./decide.ts";
import { resumeSameTry } from "../storage/waits.ts";

const SETTLED = new Set(["skipped", "upstream_failed", "removed"]);
/** Below this many unknown upstream task instances, they are read directly. */
const DIRECT_READ = 64;

export interface DecideDownstreamOptions {
  now: string;
  mayStart: (taskId: string) => boolean;
}

/** Returns "full" when the run needs the full examination instead. */
export async function decideDownstream(
  database: Database,
  trx: Transaction<Tables>,
  dag: SerializedDag,
  run: DagRunRow,
  changed: readonly string[],
  o: DecideDownstreamOptions,
): Promise<"done" | "full"> {
  // Mapped tasks have many instances and expand when they may run: the full examination does that.
  if (dag.tasks.some((t) => t.expand)) return "full";
  const reader = new RunStates(trx, run);
  const tis = taskInstanceStore(database);
  const key = (taskId: string) => ({ dagId: run.dag_id, runId: run.run_id, taskId, mapIndex: -1 });
  const move = async (taskId: string, from: TiState, to: TiState, patch: object) => {
    if (!(await tis.transition(key(taskId), from as never, to as never, patch, o.now))) return false;
    reader.moved(taskId, from, to);
    return true;
  };
  const down = downstreamOf(dag);
  // The finished tasks and their direct downstream, in one read.
  await reader.load([...changed, ...changed.flatMap((taskId) => down.get(taskId) ?? [])]);
  for (const taskId of changed) {
    const state = reader.state(taskId);
    if (state !== "up_for_retry" && state !== "up_for_reschedule") continue;
    const at = reader.retryAt(taskId);
    if (at !== null && at > o.now) continue;
    // A reschedule goes on with the same try (storage/waits.ts); a retry is a new one.
    const patch = state === "up_for_retry" ? { scheduled_dttm: o.now } : resumeSameTry(o.now);
    await move(taskId, state, "scheduled", patch);
  }
  const queue = new WorkQueue(dag);
  const ready: string[] = [];
  for (const taskId of changed) queue.addAll(down.get(taskId) ?? []);
  for (let taskId = queue.next(); taskId !== undefined; taskId = queue.next()) {
    await reader.load(queue.takeUnread());
    const state = reader.state(taskId);
    if (state === undefined) return "full"; // a task without a row: the full examination sorts it out
    if (SETTLED.has(state)) queue.addAll(down.get(taskId) ?? []);
    if (state !== "none" || !o.mayStart(taskId)) continue;
    const counts = await reader.upstreamCounts(dag, taskId);
    if (counts === null) return "full";
    const outcome = evaluateRule(taskById(dag, taskId)!.task.triggerRule, counts);
    if (outcome === "skipped" || outcome === "upstream_failed") {
      if (await move(taskId, "none", outcome, { end_date: o.now })) queue.addAll(down.get(taskId) ?? []);
    } else if (outcome === "run") {
      // Written together below: scheduling a task changes no other decision of this pass.
      ready.push(taskId);
      reader.moved(taskId, "none", "scheduled");
    }
  }
  if (ready.length > 0) await tis.scheduleReady({ dagId: run.dag_id, runId: run.run_id }, ready, o.now);
  // A run with a task still to run is not finished: no need to count its task instances.
  if (ready.length > 0 || reader.someUnfinished()) return "done";
  return (await reader.allFinished()) ? "full" : "done";
}

const outside = new WeakMap<SerializedDag, Map<string, string[]>>();

/** Every task of the DAG that is not directly upstream of this one (itself included). */
function outsideUpstream(dag: SerializedDag, taskId: string): string[] {
  let byTask = outside.get(dag);
  if (!byTask) outside.set(dag, (byTask = new Map()));
  let rest = byTask.get(taskId);
  if (!rest) {
    const upstream = new Set(taskById(dag, taskId)!.task.upstream);
    rest = dag.tasks.map((t) => t.taskId).filter((id) => !upstream.has(id));
    byTask.set(taskId, rest);
  }
  return rest;
}

/** Tasks to decide, in topological order (settling one only ever adds tasks further down). */
class WorkQueue {
  readonly #dag: SerializedDag;
  readonly #seen = new Set<string>();
  #items: { taskId: string; position: number }[] = [];
  #unread: string[] = [];

  constructor(dag: SerializedDag) {
    this.#dag = dag;
  }

  addAll(taskIds: readonly string[]): void {
    for (const taskId of taskIds) {
      if (this.#seen.has(taskId)) continue;
      this.#seen.add(taskId);
      const found = taskById(this.#dag, taskId);
      if (!found) continue;
      this.#items.push({ taskId, position: found.position });
      this.#unread.push(taskId);
    }
    this.#items.sort((a, b) => b.position - a.position);
  }

  /** The tasks added since the last call, whose states are still to be read (in one query). */
  takeUnread(): string[] {
    const out = this.#unread;
    this.#unread = [];
    return out;
  }

  next(): string | undefined {
    return this.#items.pop()?.taskId;
  }
}

/** What this examination knows of the run's task instances, read lazily in batches. */
class RunStates {
  readonly #trx: Transaction<Tables>;
  readonly #run: DagRunRow;
  readonly #states = new Map<string, TiState>();
  readonly #retryAt = new Map<string, string | null>();
  #byState: Map<TiState, number> | null = null;

  constructor(trx: Transaction<Tables>, run: DagRunRow) {
    this.#trx = trx;
    this.#run = run;
  }

  state(taskId: string): TiState | undefined {
    return this.#states.get(taskId);
  }

  retryAt(taskId: string): string | null {
    return this.#retryAt.get(taskId) ?? null;
  }

  async load(taskIds: readonly string[]): Promise<void> {
    const missing = [...new Set(taskIds)].filter((id) => !this.#states.has(id));
    for (let i = 0; i < missing.length; i += 500) {
      const rows = await this.#trx
        .selectFrom("task_instance")
        .select(["task_id", "state", "next_retry_at"])
        .where("dag_id", "=", this.#run.dag_id)
        .where("run_id", "=", this.#run.run_id)
        .where("map_index", "=", -1)
        .where("task_id", "in", missing.slice(i, i + 500))
        .execute();
      for (const r of rows) {
        this.#states.set(r.task_id, fromDb(r.state));
        this.#retryAt.set(r.task_id, r.next_retry_at);
      }
    }
  }

  moved(taskId: string, from: TiState, to: TiState): void {
    this.#states.set(taskId, to);
    if (!this.#byState) return;
    this.#byState.set(from, (this.#byState.get(from) ?? 0) - 1);
    this.#byState.set(to, (this.#byState.get(to) ?? 0) + 1);
  }

  /**
   * Counts of a task's direct upstream states. A wide fan-in is counted as the run's totals minus the
   * rest of the run; the totals are read first, so a task instance that moves on in between is counted
   * in its earlier state, which can only make the task wait one more iteration.
   */
  async upstreamCounts(dag: SerializedDag, taskId: string): Promise<UpstreamCounts | null> {
    const task = taskById(dag, taskId)!.task;
    const upstream = task.upstream;
    const unknown = upstream.filter((id) => !this.#states.has(id));
    // A teardown counts its setups by name: its upstream are read one by one.
    const bySetup = task.triggerRule === "all_done_setup_success";
    if (!bySetup && unknown.length > DIRECT_READ && dag.tasks.length - upstream.length < unknown.length) {
      const rest = outsideUpstream(dag, taskId);
      const totals = await this.#totals();
      if ([...totals.values()].reduce((a, b) => a + b, 0) !== dag.tasks.length) return null;
      await this.load(rest);
      const byState = new Map(totals);
      for (const id of rest) {
        const s = this.#states.get(id);
        if (s === undefined) return null;
        byState.set(s, (byState.get(s) ?? 0) - 1);
      }
      return countStates(byState, upstream.length);
    }
    await this.load(unknown);
    if (upstream.some((id) => !this.#states.has(id))) return null;
    return countUpstream(upstream, this.#states, setupIds(dag));
  }

  /** Whether a task instance this examination read is not finished (then the run is not either). */
  someUnfinished(): boolean {
    for (const state of this.#states.values()) if (!isFinished(state)) return true;
    return false;
  }

  async allFinished(): Promise<boolean> {
    const totals = await this.#totals();
    return [...totals].every(([state, n]) => n <= 0 || isFinished(state));
  }

  async #totals(): Promise<Map<TiState, number>> {
    if (this.#byState) return this.#byState;
    const rows = await this.#trx
      .selectFrom("task_instance")
      .select((eb) => ["state", eb.fn.countAll<number>().as("n")])
      .where("dag_run_id", "=", this.#run.id)
      .groupBy("state")
      .execute();
    this.#byState = new Map(rows.map((r) => [fromDb(r.state), Number(r.n)]));
    return this.#byState;
  }
}
