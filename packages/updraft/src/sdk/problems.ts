/**
 * Gathering a DAG definition's problems, so one DagDefinitionError lists them all: porting a DAG from
 * Airflow should take one edit-and-reparse cycle, not one per misspelled option.
 *
 * A check that can carry on past a problem (an unknown option, a value of the wrong type) runs
 * through soft() or report(): while a gathering() runs, the problem is recorded and the check goes
 * on with a fallback; outside one it throws as before. Structural problems (cycles, duplicate ids)
 * still throw at once, and gathering() adds them to what it had.
 */
import { DagDefinitionError } from "../core/errors.ts";
import { prefix, type Where } from "./fail.ts";

const sinks: DagDefinitionError[][] = [];

/** Records `error` in the running gathering(), or throws it when none runs. */
export function report(error: DagDefinitionError): void {
  const sink = sinks.at(-1);
  if (!sink) throw error;
  sink.push(error);
}

/** `check()`, or `fallback` once the DagDefinitionError it threw is recorded by the running gathering(). */
export function soft<T>(check: () => T, fallback: T): T {
  try {
    return check();
  } catch (error) {
    if (!(error instanceof DagDefinitionError) || sinks.length === 0) throw error;
    report(error);
    return fallback;
  }
}

/**
 * Runs `body`, recording what soft() and report() catch, and throws one error listing every problem
 * (the problem itself when there is one). `own`: a gathering of its own (a DAG's), else one inside a
 * running gathering joins it (a task defined while a DAG is built).
 */
export function gathering<T>(where: Where, body: () => T, own = false): T {
  if (!own && sinks.length > 0) return body();
  const sink: DagDefinitionError[] = [];
  sinks.push(sink);
  let result: T;
  try {
    result = body();
  } catch (error) {
    if (sink.length === 0 || !(error instanceof DagDefinitionError)) throw error;
    sink.push(error);
  } finally {
    sinks.pop();
  }
  if (sink.length > 0) throw combined(where, sink);
  return result!;
}

/** One error for all problems: `dag "etl": 3 problems:` then a line per problem, without the shared prefix. */
export function combined(where: Where, errors: readonly DagDefinitionError[]): DagDefinitionError {
  const unique = [...new Map(errors.map((e) => [e.message, e])).values()];
  if (unique.length === 1) return unique[0]!;
  const head = prefix(where);
  const lines = unique.map(
    (e) => `  - ${e.message.startsWith(head) ? e.message.slice(head.length) : e.message}`,
  );
  const taskIds = new Set(unique.map((e) => e.taskId));
  return new DagDefinitionError(`${head}${unique.length} problems:\n${lines.join("\n")}`, {
    ...(where.dagId !== undefined ? { dagId: where.dagId } : {}),
    ...(taskIds.size === 1 && [...taskIds][0] !== undefined ? { taskId: [...taskIds][0]! } : {}),
    problems: unique.map((e) => e.message),
  });
}
