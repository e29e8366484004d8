/**
 * A param's `pattern` is the DAG author's; what it is matched against is the caller's (issue 13, item
 * 6). A catastrophic pattern answers at once (RE2 runs in linear time) and an invalid one is an
 * import error of its file, not a 500 on every trigger. On every database.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { forEachApiDatabase } from "../test-support/api.ts";

const DAGS = {
  "evil.ts": `import { dag, empty } from "updraft";
export default dag(
  { dagId: "evil_pattern", schedule: null, params: { s: { type: "string", default: "aaa", pattern: "^(a+)+$" } } },
  () => { empty("only"); },
);`,
  "broken.ts": `import { dag, empty } from "updraft";
export default dag(
  { dagId: "broken_pattern", schedule: null, params: { s: { type: "string", pattern: "^(?!x)" } } },
  () => { empty("only"); },
);`,
};

forEachApiDatabase("author regexes against user input", { dags: DAGS, allDatabases: true }, (get) => {
  test("^(a+)+$ against 50,000 a's and a '!' is refused at once, and a match still passes", async () => {
    const started = performance.now();
    const evil = await get().call("trigger_dag_run", {
      path: { dag_id: "evil_pattern" },
      body: { logical_date: null, conf: { s: `${"a".repeat(50_000)}!` } },
    });
    const took = performance.now() - started;
    assert.equal(evil.status, 400, JSON.stringify(evil.body).slice(0, 300));
    assert.match(evil.body.detail, /param "s" must match pattern/);
    // A backtracking engine takes longer than the universe's age here; RE2 takes milliseconds.
    assert.ok(took < 30_000, `the trigger took ${Math.round(took)} ms`);
    const fine = await get().call("trigger_dag_run", {
      path: { dag_id: "evil_pattern" },
      body: { logical_date: null, conf: { s: "a".repeat(50_000) } },
    });
    assert.equal(fine.status, 200);
  });

  test("a pattern RE2 cannot run is an import error naming the file and the param", async () => {
    const errors = await get().call("get_import_errors", {});
    assert.equal(errors.status, 200);
    const broken = errors.body.import_errors.find((e: { filename: string }) =>
      e.filename.endsWith("broken.ts"),
    );
    assert.ok(broken, JSON.stringify(errors.body));
    assert.match(
      broken.stack_trace,
      /param "s": the regular expression "\^\(\?!x\)" is not valid RE2 syntax/,
    );
    const dag = await get().call("get_dag", { path: { dag_id: "broken_pattern" } });
    assert.equal(dag.status, 404);
  });
});
