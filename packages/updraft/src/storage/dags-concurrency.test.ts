/**
 * DAG files parsed at once, by one DAG processor (several files in flight) and by several (each its
 * own connection pool, the same files), on an empty database: every sync succeeds and the result is
 * as if they had run one after another. Issue 12: on a fresh MariaDB the first parse deadlocked.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { SerializedDag } from "../core/serialized.ts";
import { forEachDatabase } from "../test-support/databases.ts";
import { serializedDag, serializedTask } from "../test-support/serialized.ts";
import { closeAll, openSiblings } from "../test-support/sibling-databases.ts";
import type { Database } from "./database.ts";
import { dagStore, type FileParseResult } from "./dags.ts";

const FILES = 12;
const ROUNDS = 5;

const dagIn = (dagId: string, fileloc: string): SerializedDag =>
  serializedDag(dagId, [serializedTask("a"), serializedTask("b", ["a"])], { fileloc, tags: ["t", dagId] });

/** File i defines two DAGs, like the examples (a DAG and its variant). */
const files: FileParseResult[] = Array.from({ length: FILES }, (_, i) => {
  const fileloc = `@examples/file_${String(i).padStart(2, "0")}.ts`;
  return {
    fileloc,
    contentHash: `h${i}`,
    durationMs: 5,
    dags: [dagIn(`dag_${i}_b`, fileloc), dagIn(`dag_${i}_a`, fileloc)],
    errors: i % 4 === 0 ? [{ message: "a warning", stacktrace: null }] : [],
  };
});

async function emptyDags(database: Database) {
  for (const table of ["dag_tag", "serialized_dag", "dag", "dag_file", "import_error"] as const)
    await database.db.deleteFrom(table).execute();
}

async function expectAllStored(database: Database) {
  const dags = await dagStore(database).list();
  assert.equal(dags.length, FILES * 2);
  assert.ok(dags.every((d) => d.is_active === 1));
  assert.equal((await dagStore(database).fileHashes()).size, FILES);
}

forEachDatabase("DAG files parsed at once", (get) => {
  let processors: Database[] = [];
  before(async () => {
    processors = await openSiblings(get(), 3, 4);
  });
  after(() => closeAll(processors));

  test(`one processor, ${FILES} files in flight, on an empty database (${ROUNDS} rounds)`, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      await emptyDags(get());
      const store = dagStore(processors[0]!);
      await Promise.all(files.map((f) => store.syncFile(f, { pausedAtCreation: true })));
      await expectAllStored(get());
    }
  });

  test(`three processors syncing the same files at once (${ROUNDS} rounds)`, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      await emptyDags(get());
      await Promise.all(
        processors.flatMap((p) => files.map((f) => dagStore(p).syncFile(f, { pausedAtCreation: true }))),
      );
      await expectAllStored(get());
    }
  });
});
