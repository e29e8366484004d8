/** The DAG store's conformance suite: syncing parse results, hashes, inactivity, import errors. */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { SerializedDag } from "../core/serialized.ts";
import { serializedDag, serializedTask } from "../test-support/serialized.ts";
import { forEachDatabase } from "../test-support/databases.ts";
import { dagStore } from "./dags.ts";

const task = (taskId: string, upstream: string[] = []) => serializedTask(taskId, upstream, { owner: "team" });

const dag = (dagId: string, fileloc: string, extra: Partial<SerializedDag> = {}): SerializedDag =>
  serializedDag(dagId, [task("start"), task("end", ["start"])], {
    fileloc,
    schedule: { kind: "cron", expression: "0 0 * * *", preset: "@daily" },
    startDate: "2025-01-01T00:00:00.000Z",
    tags: ["a", "b"],
    owner: "team",
    ...extra,
  });

const file = (
  fileloc: string,
  dags: SerializedDag[],
  errors: { message: string; stacktrace: string | null }[] = [],
  hash = "h1",
) => ({
  fileloc,
  contentHash: hash,
  durationMs: 12.4,
  dags,
  errors,
});

forEachDatabase("dag store", (get) => {
  test("stores a file's DAGs, tags and hash; reads the serialized form back", async () => {
    const store = dagStore(get());
    const result = await store.syncFile(file("etl.ts", [dag("etl", "etl.ts")]), { pausedAtCreation: true });
    assert.deepEqual(result, { stored: ["etl"], errors: 0 });
    const [row] = await store.list();
    assert.equal(row?.dag_id, "etl");
    assert.equal(row?.is_paused, 1);
    assert.equal(row?.schedule_description, "@daily");
    assert.deepEqual(row?.tags, ["a", "b"]);
    assert.deepEqual(await store.getSerialized("etl"), dag("etl", "etl.ts"));
    assert.deepEqual(await store.fileHashes(), new Map([["etl.ts", "h1"]]));
    assert.deepEqual(
      (await store.list({ tags: ["b"] })).map((d) => d.dag_id),
      ["etl"],
    );
    assert.deepEqual(await store.list({ tags: ["zzz"] }), []);
  });

  test("keeps the paused flag a user set when the file changes; isPausedUponCreation wins for new DAGs", async () => {
    const store = dagStore(get());
    await store.setPaused("etl", false);
    await store.syncFile(
      file(
        "etl.ts",
        [dag("etl", "etl.ts", { description: "v2" }), dag("live", "etl.ts", { isPausedUponCreation: false })],
        [],
        "h2",
      ),
      { pausedAtCreation: true },
    );
    assert.equal((await store.get("etl"))?.is_paused, 0);
    assert.equal((await store.get("etl"))?.description, "v2");
    assert.equal((await store.get("live"))?.is_paused, 0);
  });

  test("a DAG dropped from its file becomes inactive, not deleted", async () => {
    const store = dagStore(get());
    await store.syncFile(file("etl.ts", [dag("etl", "etl.ts")], [], "h3"), { pausedAtCreation: true });
    assert.equal((await store.get("live"))?.is_active, 0);
    assert.deepEqual(
      (await store.list()).map((d) => d.dag_id),
      ["etl"],
    );
    assert.deepEqual(
      (await store.list({ activeOnly: false })).map((d) => d.dag_id),
      ["etl", "live"],
    );
  });

  test("a DAG id already defined by another file is an import error of the newcomer", async () => {
    const store = dagStore(get());
    const result = await store.syncFile(file("copy.ts", [dag("etl", "copy.ts")]), { pausedAtCreation: true });
    assert.deepEqual(result.stored, []);
    const errors = await store.importErrors();
    assert.equal(errors.length, 1);
    assert.equal(errors[0]?.fileloc, "copy.ts");
    assert.match(errors[0]!.message, /dag "etl" is already defined in etl\.ts/);
    assert.equal((await store.get("etl"))?.fileloc, "etl.ts");
  });

  test("import errors are replaced when the file is parsed again, and cleared when it is fixed", async () => {
    const store = dagStore(get());
    await store.syncFile(
      file(
        "bad.ts",
        [],
        [
          { message: "boom", stacktrace: "at x" },
          { message: "bang", stacktrace: null },
        ],
      ),
      { pausedAtCreation: true },
    );
    await store.syncFile(file("bad.ts", [], [{ message: "boom again", stacktrace: null }], "h2"), {
      pausedAtCreation: true,
    });
    assert.deepEqual(
      (await store.importErrors()).filter((e) => e.fileloc === "bad.ts").map((e) => e.message),
      ["boom again"],
    );
    await store.syncFile(file("bad.ts", [dag("fixed", "bad.ts")], [], "h3"), { pausedAtCreation: true });
    assert.deepEqual(
      (await store.importErrors()).filter((e) => e.fileloc === "bad.ts"),
      [],
    );
  });

  test("files that disappear take their DAGs and import errors with them", async () => {
    const store = dagStore(get());
    const gone = await store.deactivateMissingFiles(["etl.ts"]);
    assert.deepEqual(gone.sort(), ["bad.ts", "copy.ts"]);
    assert.equal((await store.get("fixed"))?.is_active, 0);
    assert.deepEqual(await store.importErrors(), []);
    assert.deepEqual([...(await store.fileHashes()).keys()], ["etl.ts"]);
  });

  test("a 1,000-task serialized DAG fits (MySQL's TEXT would not)", async () => {
    const store = dagStore(get());
    const tasks = Array.from({ length: 1000 }, (_, i) => task(`task_${i}`, i ? [`task_${i - 1}`] : []));
    await store.syncFile(file("big.ts", [dag("big", "big.ts", { tasks })]), { pausedAtCreation: true });
    assert.equal((await store.getSerialized("big"))?.tasks.length, 1000);
  });
});
