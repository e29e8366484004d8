/**
 * What a sensor's "not yet" means (Airflow's BaseSensorOperator.execute): the runner asks the check
 * (a call into the task's process) and decides: done; wait in the slot and check again (poke); give the
 * slot back until the next check (reschedule); hand the wait to the triggerer (deferrable); or, past
 * the timeout (counted from the try's first check, across reschedules), fail without retries, or be
 * skipped with softFail. A check that throws fails the try as any task does (retries apply); one that
 * calls FailTask is failed at once (skipped with softFail), as Airflow's AirflowFailException.
 */
import type { SensorSettings } from "../core/serialized.ts";
import { dateTimeTrigger, type PokeAnswer } from "../sdk/index.ts";
import type { LogSink } from "../runner/bash-task.ts";
import type { Result, Workload } from "./run-task-instance.ts";

/** One check's outcome, as the TaskFlow runner reports a call (success: its value is a PokeAnswer). */
export type PokeOutcome = Result;

export interface SensorRun {
  /** Calls the check once. */
  poke(): Promise<PokeOutcome>;
  log: LogSink;
  signal: AbortSignal;
  now?: () => number;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

export async function runSensor(w: Workload, r: SensorRun): Promise<Result> {
  const s = w.task.sensor!;
  const now = r.now ?? Date.now;
  const sleep = r.sleep ?? abortableSleep;
  const started = Date.parse(w.sensorStartedAt ?? new Date(now()).toISOString());
  if (w.next?.method === "__fail__")
    return timedOut(s, w.next.error ?? "the trigger's timeout passed", r.log);
  let pokes = w.sensorPokes ?? 0;
  for (;;) {
    if (r.signal.aborted) return { state: "failed", reason: "stopped while checking", retryable: true };
    const outcome = await r.poke();
    pokes++;
    if (outcome.state === "failed" && !outcome.retryable && s.softFail)
      return { state: "skipped", reason: `softFail: ${outcome.reason}` };
    if (outcome.state !== "success") return outcome;
    const answer = pokeAnswerOf(outcome.value);
    if (answer.done) {
      r.log.write(`the condition is met after ${pokes} check${pokes === 1 ? "" : "s"}\n`, "runner");
      return { state: "success", value: answer.value };
    }
    const elapsed = (now() - started) / 1000;
    if (elapsed >= s.timeout)
      return timedOut(
        s,
        `the sensor waited ${elapsed.toFixed(1)}s, past its timeout of ${s.timeout}s`,
        r.log,
      );
    const interval = nextInterval(s, pokes, elapsed, w);
    const remaining = s.timeout - elapsed;
    if (s.deferrable) {
      const trigger = answer.trigger ?? dateTimeTrigger(new Date(now() + interval * 1000)).serialize();
      return { state: "deferred", trigger, timeout: remaining };
    }
    if (s.mode === "reschedule")
      return { state: "up_for_reschedule", at: new Date(now() + interval * 1000).toISOString() };
    r.log.write(`not yet: checking again in ${interval.toFixed(1)}s\n`, "runner");
    await sleep(Math.min(interval, remaining) * 1000, r.signal);
  }
}

function pokeAnswerOf(value: unknown): PokeAnswer {
  if (value && typeof value === "object" && typeof (value as PokeAnswer).done === "boolean")
    return value as PokeAnswer;
  return { done: value === true };
}

function timedOut(s: SensorSettings, reason: string, log: LogSink): Result {
  log.write(`${reason}${s.softFail ? ": skipped (softFail)" : ""}\n`, "runner");
  return s.softFail
    ? { state: "skipped", reason: `softFail: ${reason}` }
    : { state: "failed", reason: `sensor timeout: ${reason}`, retryable: false };
}

/**
 * The wait before the next check: the poke interval, or with exponentialBackoff (as Airflow) a
 * doubling wait with a jitter that is stable for a task instance, capped by maxWait and the time left.
 */
export function nextInterval(
  s: SensorSettings,
  pokes: number,
  elapsed: number,
  w: Pick<Workload, "dagId" | "taskId" | "runId" | "mapIndex">,
): number {
  if (!s.exponentialBackoff) return s.pokeInterval;
  const minBackoff = Math.max(Math.floor(s.pokeInterval * 2 ** (pokes - 2)), 1);
  const jitter =
    hash(`${w.dagId}\u0000${w.taskId}\u0000${w.runId}\u0000${w.mapIndex}\u0000${pokes}`) % minBackoff;
  let interval = Math.min(s.timeout - elapsed, minBackoff + jitter);
  if (s.maxWait !== null) interval = Math.min(s.maxWait, interval);
  return Math.max(interval, 0.001);
}

function hash(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619) >>> 0;
  return h;
}

/** Resolves after `ms`, or at once when `signal` aborts (never rejects: the caller checks the signal). */
export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}
