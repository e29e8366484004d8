// Run with `npm test`. Importing the DAG checks it as Updraft does when it parses the file.
import assert from "node:assert/strict";
import { test } from "node:test";
import myFirstDag from "../my_first_dag.ts";

test("my_first_dag has its tasks in order", () => {
  assert.deepEqual(myFirstDag.taskIds, ["read", "average", "report", "archive"]);
});
