/**
 * The DAG processor against real files, real child processes and a real SQLite database: good files
 * load, and a broken file, a cycle, a bad cron, a hanging file and a memory hog each become an import
 * error while the rest still load.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { loadConfig, type Config } from "../config/load.ts";
import { openDatabase, type Database } from "../storage/database.ts";
import { dagStore } from "../storage/dags.ts";
import { migrateDatabase } from "../storage/migrate.ts";
import { processDagFiles } from "./processor.ts";

const GOOD = `import { dag, task, bash, chain } from "updraft";
export default dag({ dagId: "good", schedule: "@daily", startDate: "2025-01-01", tags: ["t"] }, () => {
  const a = task("a", async () => 1);
  chain(a(), bash("b", { command: "echo {{ ds }}" }));
});`;

const FILES: Record<string, string> = {
  "good.ts": GOOD,
  "nested/two.mts": `import { dag, empty } from "updraft";
export const first = dag({ dagId: "two_a" }, () => { empty("x"); });
export const second = dag({ dagId: "two_b" }, () => { empty("y"); });`,
  "plain.mjs": `import { dag, empty } from "updraft";\nexport default dag({ dagId: "plain_js" }, () => { empty("only"); });`,
  "throws.ts": `import { dag } from "updraft";\nthrow new Error("exploded on purpose");`,
  "syntax.ts": `import { dag } from "updraft";\nexport default dag({ dagId: "syntax" }, () => { let x = ; });`,
  "cycle.ts": `import { dag, empty } from "updraft";
export default dag({ dagId: "cyclic" }, () => { const a = empty("a"); const b = empty("b"); a.setDownstream(b); b.setDownstream(a); });`,
  "badcron.ts": `import { dag, empty } from "updraft";\nexport default dag({ dagId: "badcron", schedule: "61 * * * *" }, () => { empty("a"); });`,
  "airflow.ts": `import { dag, bash } from "updraft";
export default dag({ dagId: "ported", start_date: "2025-01-01", schedule: "1d" }, () => { bash("b", { bash_command: "true" }); });`,
  "hangs.ts": `import { dag } from "updraft";\nwhile (true) {}`,
  "hog.ts": `import { dag } from "updraft";\nconst keep = []; while (true) keep.push(new Array(1e6).fill(Math.random()));`,
  "exits.ts": `import { dag } from "updraft";\nprocess.exit(3);`,
  "helper.ts": `export const notADagFile = 1;`,
};

describe("DAG processor", () => {
  let home: string;
  let config: Config;
  let database: Database;

  before(async () => {
    home = mkdtempSync(join(tmpdir(), "updraft-proc-"));
    const dags = join(home, "dags");
    for (const [name, text] of Object.entries(FILES)) {
      mkdirSync(join(dags, name, ".."), { recursive: true });
      writeFileSync(join(dags, name), text);
    }
    config = loadConfig({
      env: {
        UPDRAFT_HOME: home,
        UPDRAFT__CORE__LOAD_EXAMPLES: "false",
        UPDRAFT__CORE__DAGBAG_IMPORT_TIMEOUT: "3",
        UPDRAFT__DAG_PROCESSOR__MAX_MEMORY_MB: "64",
      },
    });
    database = openDatabase(config.values.database.url);
    await migrateDatabase(database);
  });
  after(async () => {
    await database.close();
    rmSync(home, { recursive: true, force: true });
  });

  test("loads the good files and records every bad one as an import error", async () => {
    const summary = await processDagFiles(config, database);
    const store = dagStore(database);
    assert.deepEqual(
      (await store.list()).map((d) => d.dag_id),
      ["good", "plain_js", "two_a", "two_b"],
    );
    const errors = new Map((await store.importErrors()).map((e) => [e.fileloc, e.message]));
    assert.deepEqual([...errors.keys()].sort(), [
      "airflow.ts",
      "badcron.ts",
      "cycle.ts",
      "exits.ts",
      "hangs.ts",
      "hog.ts",
      "syntax.ts",
      "throws.ts",
    ]);
    assert.match(errors.get("throws.ts")!, /exploded on purpose/);
    assert.match(errors.get("syntax.ts")!, /Unexpected token|SyntaxError|Expression expected/i);
    assert.match(errors.get("cycle.ts")!, /cycle/i);
    assert.match(errors.get("cycle.ts")!, /a -> b -> a|b -> a -> b/);
    assert.match(errors.get("badcron.ts")!, /61 \* \* \* \*/);
    // Every problem of a DAG written the Airflow way, in one import error.
    assert.match(errors.get("airflow.ts")!, /dag "ported": 3 problems:/);
    assert.match(errors.get("airflow.ts")!, /start_date is startDate here/);
    assert.match(errors.get("airflow.ts")!, /for an interval write \{ every: "1d" \}/);
    assert.match(errors.get("airflow.ts")!, /bash_command is command here/);
    assert.match(errors.get("hangs.ts")!, /did not finish loading within 3s/);
    assert.match(errors.get("hog.ts")!, /ran out of memory .*64 MiB/);
    assert.match(errors.get("exits.ts")!, /exited with code 3/);
    assert.equal(summary.files, 12 - 1, "safe mode skips helper.ts, which mentions neither updraft nor dag");
    assert.equal(summary.dags, 4);
  });

  test("stores the serialized form with the file relative to the DAGs folder", async () => {
    const dag = await dagStore(database).getSerialized("two_b");
    assert.equal(dag?.fileloc, "nested/two.mts");
    const good = await dagStore(database).getSerialized("good");
    assert.deepEqual(
      good?.tasks.map((t) => [t.taskId, t.kind, t.upstream]),
      [
        ["a", "task", []],
        ["b", "bash", ["a"]],
      ],
    );
  });

  test("does not load unchanged files again; loads a changed one; deactivates a removed one", async () => {
    const again = await processDagFiles(config, database);
    assert.equal(again.parsed, 0);
    assert.equal(again.unchanged, again.files);

    writeFileSync(
      join(home, "dags", "cycle.ts"),
      `import { dag, empty } from "updraft";\nexport default dag({ dagId: "cyclic" }, () => { empty("a"); });`,
    );
    rmSync(join(home, "dags", "plain.mjs"));
    const third = await processDagFiles(config, database);
    assert.equal(third.parsed, 1);
    assert.deepEqual(third.deactivated, ["plain.mjs"]);
    const store = dagStore(database);
    assert.deepEqual(
      (await store.list()).map((d) => d.dag_id),
      ["cyclic", "good", "two_a", "two_b"],
    );
    assert.equal((await store.get("plain_js"))?.is_active, 0);
    assert.ok(!(await store.importErrors()).some((e) => e.fileloc === "cycle.ts"));
  });

  test("force loads every file again", async () => {
    const forced = await processDagFiles(config, database, { force: true });
    assert.equal(forced.parsed, forced.files);
  });
});

describe("DAG processor with [dag_processor] type_check", () => {
  let home: string;
  let database: Database;
  const configWith = (env: Record<string, string> = {}) =>
    loadConfig({
      env: {
        UPDRAFT_HOME: home,
        UPDRAFT__CORE__LOAD_EXAMPLES: "false",
        UPDRAFT__DAG_PROCESSOR__TYPE_CHECK: "true",
        ...env,
      },
    });

  before(async () => {
    home = mkdtempSync(join(tmpdir(), "updraft-proc-tc-"));
    mkdirSync(join(home, "dags"));
    writeFileSync(join(home, "dags", "good.ts"), GOOD);
    // Runs fine (the SDK does not check value types at run time), but does not type-check.
    writeFileSync(
      join(home, "dags", "typed.ts"),
      `import { dag, task } from "updraft";
export default dag({ dagId: "typed" }, () => {
  const count = task("count", async () => 42);
  const shout = task("shout", async (n: number) => String(n).toUpperCase());
  shout(count());
});`,
    );
    database = openDatabase(configWith().values.database.url);
    await migrateDatabase(database);
  });
  after(async () => {
    await database.close();
    rmSync(home, { recursive: true, force: true });
  });

  test("a file that type-checks loads; one with a type error becomes an import error and is not loaded", async () => {
    const store = dagStore(database);
    assert.equal((await processDagFiles(configWith(), database)).importErrors, 0);
    assert.deepEqual(
      (await store.list()).map((d) => d.dag_id),
      ["good", "typed"],
    );

    // The same file with a type error: its DAG goes, as with any import error, and the error says where.
    writeFileSync(
      join(home, "dags", "typed.ts"),
      `import { dag, task } from "updraft";
export default dag({ dagId: "typed" }, () => {
  const count = task("count", async () => 42);
  const shout = task("shout", async (n: number) => n.toUpperCase());
  shout(count());
});`,
    );
    const summary = await processDagFiles(configWith(), database);
    assert.equal(summary.importErrors, 1);
    const [error, ...more] = await store.importErrors();
    assert.equal(more.length, 0);
    assert.equal(error?.fileloc, "typed.ts");
    assert.match(error!.message, /^1 type error/);
    assert.match(
      error!.message,
      /^typed\.ts:4:54: Property 'toUpperCase' does not exist on type 'number'\.$/m,
    );
    assert.match(error!.stacktrace ?? "", /^typed\.ts:4:54: /);
    assert.deepEqual(
      (await store.list()).map((d) => d.dag_id),
      ["good"],
    );
    assert.equal((await store.get("typed"))?.is_active, 0);
  });

  test("the same file loads when type_check is off (the check is what rejected it)", async () => {
    const summary = await processDagFiles(
      configWith({ UPDRAFT__DAG_PROCESSOR__TYPE_CHECK: "false" }),
      database,
      { force: true },
    );
    assert.equal(summary.importErrors, 0);
    assert.deepEqual(
      (await dagStore(database).list()).map((d) => d.dag_id),
      ["good", "typed"],
    );
  });

  test("a check that times out makes the files import errors that are checked again on the next pass", async () => {
    const slow = configWith({ UPDRAFT__DAG_PROCESSOR__TYPE_CHECK_TIMEOUT: "0.01" });
    const first = await processDagFiles(slow, database, { force: true });
    assert.equal(first.importErrors, 2);
    const errors = await dagStore(database).importErrors();
    assert.match(errors[0]!.message, /did not finish within 0\.01s.*type_check_timeout/);
    const again = await processDagFiles(slow, database);
    assert.equal(again.parsed, 2, "not taken as unchanged");
  });
});
