/**
 * A DAGs folder that is an npm project: its node_modules is never loaded as DAGs, DAG files import
 * packages installed there and the SDK under its published name, and a CommonJS package.json gives
 * one import error that names it and the fix instead of one failure per file. Real files, real
 * parse processes, a real SQLite database.
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

const dagFile = (dagId: string, from = "updraft") =>
  `import { dag, empty } from "${from}";\nexport default dag({ dagId: "${dagId}" }, () => { empty("a"); });\n`;

function write(root: string, files: Record<string, string>): void {
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(root, name, ".."), { recursive: true });
    writeFileSync(join(root, name), text);
  }
}

describe("a DAGs folder that is an npm project", () => {
  let home: string;
  let dags: string;
  let config: Config;
  let database: Database;

  before(async () => {
    home = mkdtempSync(join(tmpdir(), "updraft-project-"));
    dags = join(home, "dags");
    write(dags, {
      "package.json": JSON.stringify({ name: "dags", type: "module" }),
      "uses_dependency.ts": `import { dag, task } from "updraft";
import { shout } from "shouty";
export default dag({ dagId: shout("uses_dependency") }, () => { task("a", () => shout("x")); });\n`,
      "published_name.ts": dagFile("published_name", "updraft-orchestrator"),
      // An installed package that looks like a DAG file: never loaded.
      "node_modules/shouty/package.json": JSON.stringify({
        name: "shouty",
        type: "module",
        main: "index.js",
      }),
      "node_modules/shouty/index.js": "export const shout = (s) => s.toLowerCase();\n",
      "node_modules/shouty/dag.ts": dagFile("from_node_modules"),
      "team/nested/node_modules/x/dag.ts": dagFile("from_nested_node_modules"),
      // A sub-folder made with `npm init -y`: CommonJS.
      "legacy/package.json": JSON.stringify({ name: "legacy", type: "commonjs" }),
      "legacy/one.ts": dagFile("legacy_one"),
      "legacy/two.js": dagFile("legacy_two"),
      "legacy/three.mts": dagFile("legacy_three"), // .mts is a module whatever package.json says
    });
    config = loadConfig({
      env: {
        UPDRAFT_HOME: home,
        UPDRAFT__CORE__LOAD_EXAMPLES: "false",
        UPDRAFT__CORE__DAGBAG_IMPORT_TIMEOUT: "10",
      },
    });
    database = openDatabase(config.values.database.url);
    await migrateDatabase(database);
  });
  after(async () => {
    await database.close();
    rmSync(home, { recursive: true, force: true });
  });

  test("loads DAG files that import installed packages and the SDK's published name, never node_modules", async () => {
    await processDagFiles(config, database);
    const store = dagStore(database);
    assert.deepEqual(
      (await store.list()).map((d) => d.dag_id),
      ["legacy_three", "published_name", "uses_dependency"],
    );
  });

  test("a CommonJS package.json is one import error naming it and the fix; its files are not loaded", async () => {
    const errors = await dagStore(database).importErrors();
    assert.deepEqual(
      errors.map((e) => e.fileloc),
      ["legacy/package.json"],
      "one error, for the package.json, none per file",
    );
    const message = errors[0]!.message;
    assert.match(message, /legacy\/package\.json declares "type": "commonjs"/);
    assert.match(message, /2 DAG file\(s\)/);
    assert.match(message, /legacy\/one\.ts, legacy\/two\.js/);
    assert.match(message, /set "type": "module"/);
    assert.match(message, /npm pkg set type=module/);
  });

  test("fixing package.json loads the files and clears the error", async () => {
    writeFileSync(join(dags, "legacy", "package.json"), JSON.stringify({ name: "legacy", type: "module" }));
    const summary = await processDagFiles(config, database);
    assert.equal(summary.importErrors, 0);
    const store = dagStore(database);
    assert.deepEqual(await store.importErrors(), []);
    assert.deepEqual(
      (await store.list()).map((d) => d.dag_id),
      ["legacy_one", "legacy_three", "legacy_two", "published_name", "uses_dependency"],
    );
  });

  test("turning a folder CommonJS keeps its DAGs and reports the package.json once", async () => {
    writeFileSync(join(dags, "legacy", "package.json"), JSON.stringify({ name: "legacy", type: "commonjs" }));
    writeFileSync(join(dags, "legacy", "one.ts"), dagFile("legacy_one") + "// changed\n");
    const first = await processDagFiles(config, database);
    assert.equal(first.importErrors, 1);
    const again = await processDagFiles(config, database);
    assert.equal(again.importErrors, 0, "an unchanged package.json is not stored again");
    const store = dagStore(database);
    assert.equal((await store.importErrors()).length, 1);
    assert.deepEqual(first.deactivated, [], "nothing already stored is lost");
    assert.equal((await store.get("legacy_one"))?.is_active, 1);
  });
});
