/**
 * `dag.test()`'s TaskFlow runner: calls a TypeScript task's function from the DAG object already
 * loaded in this process (the DAG file run with `node`), where the pool would send it to a worker
 * process. A debugger attached to this process (`node --inspect-brk dags/etl.ts`) therefore stops in
 * task code. What the task gets is the same as in a worker (taskflow-call.ts): its arguments with
 * upstream XComs in place, its context, getVariable/getConnection/setVariable through the runner.
 *
 * What differs from a worker, because a process cannot be divided:
 * - one task at a time (getCurrentContext() and the lookups have one slot per process);
 * - output the task writes (console, process.stdout/stderr) goes to its log through an
 *   AsyncLocalStorage: what runs outside a task (the runner, bash tasks' relayed output) is not caught;
 * - executionTimeout and a stop fail the try, but cannot stop the function: the next TypeScript task
 *   starts once it has returned; memoryLimit, isolation and runAsUser do not apply.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { Dag } from "../sdk/index.ts";
import type { LogSink } from "./bash-task.ts";
import { callTask, callTaskCallbacks, outcomeOf, taskFnOf, type TaskCallEnd } from "./taskflow-call.ts";
import type { TaskFlowOutcome, TaskFlowRun, TaskFlowRunner } from "./taskflow-pool.ts";

type Write = typeof process.stdout.write;

export class InProcessTaskFlow implements TaskFlowRunner {
  readonly #dags: ReadonlyMap<string, Dag>;
  /** The log of the task whose code is running (in its async continuations too). */
  readonly #current = new AsyncLocalStorage<LogSink>();
  /** The previous task's call: the next one starts when it has returned. */
  #turn: Promise<unknown> = Promise.resolve();
  readonly #restore: () => void;
  readonly #stdout: Write;

  constructor(dags: Dag[]) {
    this.#dags = new Map(dags.map((d) => [d.dagId, d]));
    this.#stdout = process.stdout.write.bind(process.stdout);
    this.#restore = captureOutput(this.#current);
  }

  /** Writes to this process's stdout itself, never into a task's log (task logs echoed, summaries). */
  print(text: string): void {
    this.#stdout(text);
  }

  run(task: TaskFlowRun): Promise<TaskFlowOutcome> {
    const call = this.#turn.then(() => this.#call(task));
    this.#turn = call.catch(() => undefined);
    return bounded(
      call.then((end) => outcomeOf(end, task.log)),
      task,
    );
  }

  async close(): Promise<void> {
    this.#restore();
  }

  #call(task: TaskFlowRun): Promise<TaskCallEnd> {
    const { dagId, taskId, args, context } = task.request;
    if (task.signal?.aborted)
      return Promise.resolve({ outcome: "failed", message: "stopped before it started", stack: null });
    if (task.runAs)
      task.log.write(
        `dag.test() runs TypeScript tasks as this process's user, not as "${task.runAs.user}"\n`,
        "runner",
      );
    const unavailable = (what: string) => () =>
      Promise.reject(new Error(`${what} is not available in this test run`));
    const dag = this.#dags.get(dagId);
    const io = {
      context,
      lookup: task.lookup ?? unavailable("getVariable/getConnection"),
      write: task.setVariable ?? unavailable("setVariable"),
      log: (text: string) => task.log.write(text, "runner"),
    };
    const { callbacks, onExecuteMs } = task.request;
    return this.#current.run(task.log, async (): Promise<TaskCallEnd> => {
      if (!dag) {
        const message = `dag "${dagId}" is not the one being tested in this process`;
        return { outcome: "failed", message, stack: null };
      }
      if (callbacks)
        return { outcome: "success", value: await callTaskCallbacks(dag, taskId, callbacks, io) };
      const onExecute = {
        event: "onExecute",
        exception: null,
        email: null,
        timeoutMs: onExecuteMs ?? 0,
      } as const;
      return callTask(() => taskFnOf(dag, taskId, task.request.resume), {
        ...io,
        args,
        onExecute: onExecuteMs ? () => callTaskCallbacks(dag, taskId, onExecute, io) : undefined,
      });
    });
  }
}

/** The outcome, or a failure when the execution timeout passes or the try is stopped first. */
function bounded(outcome: Promise<TaskFlowOutcome>, task: TaskFlowRun): Promise<TaskFlowOutcome> {
  const ends: Promise<TaskFlowOutcome>[] = [outcome];
  let timer: NodeJS.Timeout | undefined;
  if (task.timeout)
    ends.push(
      new Promise((resolve) => {
        timer = setTimeout(
          () =>
            resolve({
              state: "failed",
              reason: `timed out after ${task.timeout}s (executionTimeout)`,
              retryable: true,
            }),
          task.timeout! * 1000,
        );
      }),
    );
  const signal = task.signal;
  let onAbort: (() => void) | undefined;
  if (signal)
    ends.push(
      new Promise((resolve) => {
        onAbort = () =>
          resolve({
            state: "failed",
            reason: "stopped: the task was cleared or the run ended",
            retryable: false,
          });
        if (signal.aborted) onAbort();
        else signal.addEventListener("abort", onAbort, { once: true });
      }),
    );
  return Promise.race(ends).finally(() => {
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener("abort", onAbort);
  });
}

/**
 * Sends what a running task writes to process.stdout and process.stderr (console included, which
 * writes there) to that task's log; everything else passes. Returns the function that undoes it.
 */
function captureOutput(current: AsyncLocalStorage<LogSink>): () => void {
  const undo: (() => void)[] = [];
  for (const stream of ["stdout", "stderr"] as const) {
    const target = process[stream];
    const original = target.write;
    const write = original.bind(target) as (...a: unknown[]) => boolean;
    target.write = ((chunk: unknown, ...rest: unknown[]) => {
      const log = current.getStore();
      if (!log) return write(chunk, ...rest);
      log.write(typeof chunk === "string" ? chunk : Buffer.from(chunk as Uint8Array), stream);
      const callback = rest.find((r) => typeof r === "function") as (() => void) | undefined;
      callback?.();
      return true;
    }) as Write;
    undo.push(() => {
      target.write = original;
    });
  }
  return () => undo.forEach((u) => u());
}
