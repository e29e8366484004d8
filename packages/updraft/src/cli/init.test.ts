/**
 * The TypeScript author's first hour, as a user runs it: `updraft init` in an empty folder, `npm
 * install` (offline: the SDK is this workspace's package), `tsc` over the project, the project's own
 * `npm test`, a DAG with a type error caught by `updraft dags check`, and `standalone` on a new home
 * making the DAGs folder a project. Real processes throughout.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { assertBuilt } from "../test-support/service-process.ts";

const MAIN = fileURLToPath(new URL("./main.ts", import.meta.url));
const PACKAGE = fileURLToPath(new URL("../../", import.meta.url));
const TSC = fileURLToPath(import.meta.resolve("typescript/bin/tsc"));

function run(command: string, args: string[], o: { cwd?: string; env?: Record<string, string> } = {}) {
  const r = spawnSync(command, args, {
    cwd: o.cwd,
    // Without NODE_TEST_CONTEXT, a `node --test` started here reports as it would in a terminal.
    env: { ...process.env, NODE_TEST_CONTEXT: undefined, ...o.env },
    encoding: "utf8",
    timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, all: `${r.stdout}\n${r.stderr}` };
}

const updraft = (home: string, args: string[], cwd?: string) =>
  run(process.execPath, [MAIN, ...args], {
    cwd,
    env: { UPDRAFT_HOME: home, UPDRAFT__CORE__LOAD_EXAMPLES: "false" },
  });

describe("updraft init", () => {
  const root = mkdtempSync(join(tmpdir(), "updraft-init-"));
  const home = join(root, "home");
  const project = join(root, "work", "dags");

  test("writes a DAGs project into a new folder and links the SDK for editors", () => {
    const r = updraft(home, ["init", project]);
    assert.equal(r.code, 0, r.all);
    for (const file of [
      "package.json",
      "tsconfig.json",
      "my_first_dag.ts",
      "tests/my_first_dag.test.ts",
      ".gitignore",
      ".updraftignore",
      "README.md",
    ])
      assert.ok(existsSync(join(project, file)), `${file} written`);
    const pkg = JSON.parse(readFileSync(join(project, "package.json"), "utf8"));
    assert.equal(pkg.type, "module");
    assert.equal(
      pkg.dependencies.updraft,
      `file:${PACKAGE.replace(/\/$/, "")}`,
      "run from a clone: this folder",
    );
    assert.deepEqual(Object.keys(pkg.scripts).sort(), ["check", "test"]);
    assert.equal(realpathSync(join(project, "node_modules", "updraft")), realpathSync(PACKAGE));
    assert.match(r.stdout, /UPDRAFT__CORE__DAGS_FOLDER=/, "says how to point Updraft at a folder elsewhere");
    assert.ok(readlinkSync(join(project, "node_modules", "updraft")));
  });

  test("refuses a folder that is not empty, naming it, and changes nothing", () => {
    const r = updraft(home, ["init", project]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /is not empty/);
    assert.ok(r.stderr.includes(project));
  });

  test("--sdk sets the dependency spec (the published package under the alias)", () => {
    const other = join(root, "other");
    const r = updraft(home, ["init", other, "--sdk", "npm:updraft-orchestrator@^0.1.0"]);
    assert.equal(r.code, 0, r.all);
    const pkg = JSON.parse(readFileSync(join(other, "package.json"), "utf8"));
    assert.equal(pkg.dependencies.updraft, "npm:updraft-orchestrator@^0.1.0");
  });

  test("npm install (offline), tsc and the project's npm test pass", () => {
    assertBuilt();
    const install = run("npm", ["install", "--offline", "--no-audit", "--no-fund"], { cwd: project });
    assert.equal(install.code, 0, install.all);
    const tsc = run(process.execPath, [TSC, "-p", project]);
    assert.equal(tsc.code, 0, `tsc over the new project:\n${tsc.all}`);
    const npmTest = run("npm", ["test"], { cwd: project });
    assert.equal(npmTest.code, 0, npmTest.all);
    assert.match(npmTest.stdout, /pass 1/);
  });

  test("a DAG with a type error: tsc and `npm run check` (updraft dags check) name its file and line", () => {
    writeFileSync(
      join(project, "typo.ts"),
      [
        'import { dag, task } from "updraft";',
        'export default dag({ dagId: "typo" }, () => {',
        '  const count = task("count", () => 3);',
        '  const shout = task("shout", (s: string) => s.toUpperCase());',
        "  shout(count());",
        "});",
        "",
      ].join("\n"),
    );
    const tsc = run(process.execPath, [TSC, "-p", project]);
    assert.notEqual(tsc.code, 0);
    assert.match(tsc.stdout, /typo\.ts\(5,9\)/);
    const check = run("npm", ["run", "check"], { cwd: project, env: { UPDRAFT_HOME: home } });
    assert.equal(check.code, 1, check.all);
    assert.match(check.stdout, /typo\.ts:5:9: .*number.*string/);
    assert.doesNotMatch(check.stdout, /my_first_dag\.ts:\d/, "the good DAG has no errors");
  });

  test("standalone on a new home makes its DAGs folder a project and loads the example DAG", () => {
    const fresh = join(root, "fresh-home");
    mkdirSync(fresh);
    const r = updraft(fresh, ["standalone", "--once"]);
    assert.equal(r.code, 0, r.all);
    assert.ok(existsSync(join(fresh, "dags", "package.json")));
    const list = updraft(fresh, ["dags", "list", "--no-parse", "-o", "json"]);
    assert.equal(list.code, 0, list.all);
    assert.deepEqual(
      JSON.parse(list.stdout).map((d: { dag_id: string }) => d.dag_id),
      ["my_first_dag"],
    );
  });
});
