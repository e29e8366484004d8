/**
 * What a mapped task maps over, read from the run's XComs (core/mapping.ts says how it is mapped):
 * the scheduler needs the lists' lengths to make the task's instances, the task runner the lists
 * themselves to find its instance's element. A mapped upstream's output is the list of its
 * instances' results in map-index order (those that pushed none are left out, as in Airflow).
 */
import { elementAt, mapSources, unmappableReason, xcomRefOf, type Expand } from "../core/mapping.ts";
import type { SerializedDag } from "../core/serialized.ts";
import { taskById } from "../core/serialized.ts";
import type { Database } from "./database.ts";
import { xcomStore } from "./xcom.ts";

/** A source that cannot be mapped: `missing` when its upstream pushed nothing (the task is skipped). */
export type SourceProblem = { missing: true; message: string } | { missing: false; message: string };

/** Each source's length, or why one cannot be mapped over. */
export async function sourceLengths(
  database: Database,
  dag: SerializedDag,
  dagRunId: number,
  expand: Expand,
): Promise<{ lengths: number[] } | { problem: SourceProblem }> {
  const lengths: number[] = [];
  for (const { name, source } of mapSources(expand)) {
    const ref = xcomRefOf(source);
    if (ref && taskById(dag, ref.taskId)?.task.expand) {
      // A mapped upstream: its length is how many of its instances pushed, counted, not read.
      lengths.push(await xcomStore(database).countMapped(dagRunId, ref.taskId, ref.key));
      continue;
    }
    const values = await sourceValues(database, dag, dagRunId, source, expand.mode, name);
    if ("problem" in values) return values;
    lengths.push(values.values.length);
  }
  return { lengths };
}

/** The element of map index `index`, from the sources' lists as they are now. */
export async function elementOf(
  database: Database,
  dag: SerializedDag,
  dagRunId: number,
  expand: Expand,
  index: number,
): Promise<{ element: unknown } | { problem: SourceProblem }> {
  const lists: unknown[][] = [];
  for (const { name, source } of mapSources(expand)) {
    const values = await sourceValues(database, dag, dagRunId, source, expand.mode, name);
    if ("problem" in values) return values;
    lists.push(values.values);
  }
  const total = lists.reduce((n, l) => n * l.length, 1);
  if (index < 0 || index >= total)
    return {
      problem: {
        missing: false,
        message: `map index ${index} is past the ${total} elements mapped over now: the upstream output changed since the task was expanded; clear the mapped task to expand it again`,
      },
    };
  return { element: elementAt(expand, lists, index) };
}

async function sourceValues(
  database: Database,
  dag: SerializedDag,
  dagRunId: number,
  source: unknown,
  mode: Expand["mode"],
  name: string | null,
): Promise<{ values: unknown[] } | { problem: SourceProblem }> {
  const what = name === null ? "the list mapped over" : `the list mapped over as "${name}"`;
  const ref = xcomRefOf(source);
  if (!ref) return { values: source as unknown[] };
  const from = `the XCom "${ref.key}" of task "${ref.taskId}"`;
  const xcoms = xcomStore(database);
  if (taskById(dag, ref.taskId)?.task.expand) {
    const values = await xcoms.mapped(dagRunId, ref.taskId, ref.key);
    const reason = unmappableReason(values, mode);
    if (reason)
      return { problem: { missing: false, message: `${what}, ${from}, cannot be mapped over: ${reason}` } };
    return { values };
  }
  const found = await xcoms.find(dagRunId, ref.taskId, ref.key);
  if (!found)
    return { problem: { missing: true, message: `${what}, ${from}, was never pushed in this run` } };
  const value = found.value ?? null;
  const reason = unmappableReason(value, mode);
  if (reason)
    return { problem: { missing: false, message: `${what}, ${from}, cannot be mapped over: ${reason}` } };
  return { values: value as unknown[] };
}
