/**
 * Imports every bundled example DAG, as the DAG processor will, and checks each one builds,
 * follows the example conventions, serializes through SerializedDagSchema, and that its TaskFlow
 * functions run on the values their upstream TaskFlow tasks produce.
 *
 * The examples import "updraft", which resolves to the package's built dist/; a resolve hook maps
 * it to src/index.ts so the test needs no build.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { registerHooks } from "node:module";
import { SerializedDagSchema } from "../core/serialized.ts";
import {
  deferralOf,
  findXComRefs,
  isDag,
  OutletEvents,
  resolveXComRefs,
  setCurrentContext,
  setLookup,
  type Dag,
  type TaskDefinition,
} from "./index.ts";

// As on a fresh installation: no variable or connection exists (examples fall back to their defaults).
setLookup(async () => null);

const sdkEntry = new URL("../index.ts", import.meta.url).href;
registerHooks({
  resolve(specifier, context, nextResolve) {
    if (specifier === "updraft") return { url: sdkEntry, shortCircuit: true, format: "module-typescript" };
    return nextResolve(specifier, context);
  },
});

const folder = new URL("../../examples/dags/", import.meta.url);
const files = readdirSync(folder)
  .filter((f) => f.endsWith(".ts"))
  .sort();

test("there are example DAG files", () => {
  assert.ok(files.length >= 6, `expected at least 6 examples, found ${files.join(", ")}`);
});

for (const file of files) {
  test(`example ${file} builds, serializes and runs its TaskFlow functions`, async () => {
    const module = (await import(new URL(file, folder).href)) as Record<string, unknown>;
    const dags = Object.values(module).filter(isDag);
    assert.equal(dags.length, 1, `${file} should export exactly one DAG`);
    const dag = dags[0]!;
    assert.ok(isDag(module.default), `${file} should export its DAG as default`);
    assert.equal(dag.dagId, file.replace(/\.ts$/, ""), "the dagId matches the file name");
    assert.match(dag.dagId, /^example_/);

    const serialized = dag.serialize({ fileloc: `examples/${file}` });
    assert.deepEqual(SerializedDagSchema.parse(serialized), serialized);
    assert.ok(serialized.tags.includes("example"), `${file} should be tagged "example"`);
    assert.ok(serialized.tasks.length > 0);
    for (const task of serialized.tasks) {
      // A mapped bash task may take its command from what it maps over.
      if (task.kind === "bash" && !task.expand) assert.equal(typeof task.templateFields.command, "string");
    }
    await runTaskFlow(dag, new Set(serialized.tasks.filter((t) => t.expand).map((t) => t.taskId)));
  });
}

/** Calls each TaskFlow function in order with its upstream TaskFlow results; results must be JSON. */
async function runTaskFlow(dag: Dag, mapped: ReadonlySet<string>): Promise<void> {
  const results = new Map<string, unknown>();
  const taskFlowIds = new Set(dag.tasks.filter((t) => t.kind === "task").map((t) => t.taskId));
  const log = console.log;
  console.log = () => {};
  try {
    for (const task of dag.tasks) {
      if (task.kind !== "task") continue;
      // Mapped tasks run per element in the scheduler's test of the examples; here they give a list.
      if (mapped.has(task.taskId)) {
        results.set(task.taskId, []);
        continue;
      }
      // A task reading an operator's output (http(), sql(), a sensor) runs only in the scheduler's test.
      const refs = findXComRefs(task.serializedArgs as never);
      if (refs.some((ref) => !results.has(ref.taskId) && !taskFlowIds.has(ref.taskId))) continue;
      const args = task.serializedArgs.map((arg) =>
        resolveXComRefs(arg, (ref) => {
          assert.ok(results.has(ref.taskId), `${task.taskId} reads ${ref.taskId}, which produced nothing`);
          return results.get(ref.taskId);
        }),
      );
      const result: unknown = await runOrResume(task, args);
      assert.deepEqual(
        JSON.parse(JSON.stringify(result ?? null)),
        result ?? null,
        `${task.taskId} returns JSON`,
      );
      results.set(task.taskId, result);
    }
  } finally {
    console.log = log;
  }
}

/**
 * Runs a task's function; one that defers (defer()) resumes at once with its trigger's arguments as
 * the event (the triggerer is not part of this test): its `resume` must take them.
 */
async function runOrResume(task: TaskDefinition, args: unknown[]): Promise<unknown> {
  // What the asset examples read of their context: no events started this run.
  setCurrentContext({ outlet_events: new OutletEvents(), triggering_asset_events: {} });
  try {
    return await task.fn!(...args);
  } catch (error) {
    const deferral = deferralOf(error);
    if (!deferral) throw error;
    const event = deferral.trigger.kwargs.moment ?? deferral.trigger.kwargs;
    return task.resume ? await task.resume(event) : event;
  } finally {
    setCurrentContext(undefined);
  }
}
