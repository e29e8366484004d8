/**
 * DAG versions: a new version on each change of the serialized form (with the file's source), none on
 * an unchanged reparse, distinct numbers under concurrent writers, and runs keeping the version they
 * were created with after the DAG changes.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { Kysely } from "kysely";
import type { SerializedDag } from "../core/serialized.ts";
import { forEachDatabase } from "../test-support/databases.ts";
import { serializedDag, serializedTask } from "../test-support/serialized.ts";
import { closeAll, openSiblings } from "../test-support/sibling-databases.ts";
import type { Database } from "./database.ts";
import { dagRunStore } from "./dag-runs.ts";
import { dagVersionStore } from "./dag-versions.ts";
import { dagHash, dagStore, type FileParseResult } from "./dags.ts";
import { dropTables, migrateDatabase } from "./migrate.ts";

const v1 = (dagId: string): SerializedDag =>
  serializedDag(dagId, [serializedTask("a"), serializedTask("b", ["a"])], { fileloc: `${dagId}.ts` });
const v2 = (dagId: string): SerializedDag =>
  serializedDag(dagId, [serializedTask("a"), serializedTask("b", ["a"]), serializedTask("c", ["b"])], {
    fileloc: `${dagId}.ts`,
  });

const parse = (dag: SerializedDag, source: string): FileParseResult => ({
  fileloc: `${dag.dagId}.ts`,
  contentHash: `h-${source.length}-${source}`,
  durationMs: 3,
  source,
  dags: [dag],
  errors: [],
});

const opts = { pausedAtCreation: true };

async function versionsOf(database: Database, dagId: string) {
  return database.db
    .selectFrom("dag_version")
    .select(["version_number", "source_code", "data"])
    .where("dag_id", "=", dagId)
    .orderBy("version_number")
    .execute();
}

forEachDatabase("dag versions", (get) => {
  test("a change of the form is a new version with its source; an unchanged reparse is not", async () => {
    const store = dagStore(get());
    await store.syncFile(parse(v1("ver"), "// one\n"), opts);
    await store.syncFile(parse(v1("ver"), "// one\n"), opts);
    assert.deepEqual(
      (await versionsOf(get(), "ver")).map((v) => [v.version_number, v.source_code]),
      [[1, "// one\n"]],
    );
    await store.syncFile(parse(v2("ver"), "// two\n"), opts);
    const rows = await versionsOf(get(), "ver");
    assert.deepEqual(
      rows.map((v) => [v.version_number, v.source_code]),
      [
        [1, "// one\n"],
        [2, "// two\n"],
      ],
    );
    assert.deepEqual(JSON.parse(rows[0]!.data), v1("ver"));
    assert.deepEqual(JSON.parse(rows[1]!.data), v2("ver"));
    // Back to the first form: a third version (the history is a sequence, as Airflow's).
    await store.syncFile(parse(v1("ver"), "// one again\n"), opts);
    assert.equal((await versionsOf(get(), "ver")).length, 3);
    const versions = dagVersionStore(get());
    assert.deepEqual((await versions.serialized("ver", 2))?.tasks.length, 3);
    assert.equal((await versions.latest(["ver"])).get("ver")?.version_number, 3);
    assert.equal(await versions.get("ver", 4), undefined);
  });

  test("a text change that leaves the form alone updates the newest version's source", async () => {
    const store = dagStore(get());
    await store.syncFile(parse(v1("txt"), "// a\n"), opts);
    await store.syncFile(parse(v1("txt"), "// a, with a comment\n"), opts);
    assert.deepEqual(
      (await versionsOf(get(), "txt")).map((v) => [v.version_number, v.source_code]),
      [[1, "// a, with a comment\n"]],
    );
  });

  test("a run keeps the version it was created with after the DAG changes", async () => {
    const store = dagStore(get());
    const runs = dagRunStore(get());
    await store.syncFile(parse(v1("kept"), "// 1\n"), opts);
    const base = {
      runType: "manual" as const,
      logicalDate: null,
      dataIntervalStart: null,
      dataIntervalEnd: null,
    };
    const old = await runs.create({
      ...base,
      dag: v1("kept"),
      runId: "old",
      runAfter: "2025-01-01T00:00:00.000Z",
    });
    await store.syncFile(parse(v2("kept"), "// 2\n"), opts);
    const fresh = await runs.create({
      ...base,
      dag: v2("kept"),
      runId: "new",
      runAfter: "2025-01-02T00:00:00.000Z",
    });
    const versions = dagVersionStore(get());
    const byId = await versions.byIds([old.created_dag_version_id, fresh.created_dag_version_id]);
    assert.equal(byId.get(old.created_dag_version_id!)?.version_number, 1);
    assert.equal(byId.get(fresh.created_dag_version_id!)?.version_number, 2);
    const reread = await runs.get("kept", "old");
    assert.equal(reread?.created_dag_version_id, old.created_dag_version_id);
    const tis = await get()
      .db.selectFrom("task_instance")
      .select(["run_id", "dag_version_id"])
      .where("dag_id", "=", "kept")
      .execute();
    assert.equal(tis.length, 5);
    for (const ti of tis)
      assert.equal(ti.dag_version_id, (ti.run_id === "old" ? old : fresh).created_dag_version_id);
    assert.deepEqual(
      (await versions.list("kept")).map((v) => [v.version_number, v.runs]),
      [
        [2, 1],
        [1, 1],
      ],
    );
  });

  test("deleting a DAG deletes its versions", async () => {
    const store = dagStore(get());
    await store.syncFile(parse(v1("gone"), "// g\n"), opts);
    assert.equal(await store.deleteDag("gone"), "deleted");
    assert.deepEqual(await versionsOf(get(), "gone"), []);
  });
});

forEachDatabase("dag versions written at once", (get) => {
  let processors: Database[] = [];
  before(async () => {
    processors = await openSiblings(get(), 3, 2);
  });
  after(() => closeAll(processors));

  test("processors storing the same changes at once make one version per change, numbered 1..n", async () => {
    const forms = [v1("race"), v2("race"), v1("race"), v2("race")];
    for (const [i, form] of forms.entries()) {
      // Every processor stores the same change at the same time; then the next change comes.
      await Promise.all(processors.map((p) => dagStore(p).syncFile(parse(form, `// v${i}\n`), opts)));
    }
    const rows = await versionsOf(get(), "race");
    assert.deepEqual(
      rows.map((r) => r.version_number),
      [1, 2, 3, 4],
    );
    assert.deepEqual(
      rows.map((r) => JSON.parse(r.data).tasks.length),
      [2, 3, 2, 3],
    );
  });
});

forEachDatabase("dag versions on upgrade", (get) => {
  test("migration 0012 makes version 1 of each DAG from its serialized form; runs and task instances point at it", async () => {
    const database = get();
    await dropTables(database);
    await migrateDatabase(database, undefined, "0011_run_marked_state");
    // The schema as it was: written without the typed tables, which know the new columns.
    const db = database.db as unknown as Kysely<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    const now = "2025-01-01T00:00:00.000Z";
    for (const dagId of ["one", "two"]) {
      const form = v1(dagId);
      await db
        .insertInto("dag")
        .values({ dag_id: dagId, fileloc: `${dagId}.ts` })
        .execute();
      await db
        .insertInto("serialized_dag")
        .values({
          dag_id: dagId,
          fileloc: `${dagId}.ts`,
          data: JSON.stringify(form),
          dag_hash: dagHash(form),
          version: 1,
          last_updated: now,
        })
        .execute();
      await db
        .insertInto("dag_run")
        .values({
          dag_id: dagId,
          run_id: "r",
          run_after: now,
          state: "success",
          run_type: "manual",
          updated_at: now,
        })
        .execute();
      const run = await db
        .selectFrom("dag_run")
        .select("id")
        .where("dag_id", "=", dagId)
        .executeTakeFirstOrThrow();
      await db
        .insertInto("task_instance")
        .values({
          dag_id: dagId,
          run_id: "r",
          task_id: "a",
          dag_run_id: run.id,
          operator: "empty",
          pool: "default_pool",
          queue: "default",
          updated_at: now,
        })
        .execute();
    }
    // 0012 runs first, then whatever came after it.
    assert.equal((await migrateDatabase(database))[0], "0012_dag_versions");
    const versions = await database.db.selectFrom("dag_version").selectAll().orderBy("dag_id").execute();
    assert.deepEqual(
      versions.map((v) => [
        v.dag_id,
        v.version_number,
        v.created_at,
        v.source_code,
        v.dag_hash === dagHash(v1(v.dag_id)),
      ]),
      [
        ["one", 1, now, null, true],
        ["two", 1, now, null, true],
      ],
    );
    assert.deepEqual(JSON.parse(versions[0]!.data), v1("one"));
    const runs = await database.db
      .selectFrom("dag_run")
      .select(["dag_id", "created_dag_version_id"])
      .execute();
    const tis = await database.db.selectFrom("task_instance").select(["dag_id", "dag_version_id"]).execute();
    const idOf = new Map(versions.map((v) => [v.dag_id, v.id]));
    for (const r of runs) assert.equal(r.created_dag_version_id, idOf.get(r.dag_id));
    for (const t of tis) assert.equal(t.dag_version_id, idOf.get(t.dag_id));
    // The first parse after the upgrade fills in the text; an unchanged form is still version 1.
    await dagStore(database).syncFile(parse(v1("one"), "// one\n"), opts);
    assert.deepEqual(
      (await versionsOf(database, "one")).map((v) => [v.version_number, v.source_code]),
      [[1, "// one\n"]],
    );
  });
});
