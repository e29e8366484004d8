/**
 * `updraft dags check` as a user runs it: the built CLI in a real process, a fresh UPDRAFT_HOME whose
 * DAGs folder holds a good DAG and one with a type error (a number's result used as a string).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { assertBuilt, UPDRAFT_BIN } from "../test-support/service-process.ts";

const GOOD = `import { bash, chain, dag, task } from "updraft";

export default dag({ dagId: "good", schedule: "@daily", startDate: "2025-01-01" }, () => {
  const count = task("count", async () => 41 + 1);
  const show = task("show", async (n: number) => console.log(n.toFixed(1), process.env.HOME));
  chain(show(count()), bash("done", { command: "echo done" }));
});
`;

// Line 6, column 45: .toUpperCase() on the number the upstream task returns.
const BAD = `import { dag, task } from "updraft";

export default dag({ dagId: "bad" }, () => {
  const count = task("count", async () => 42);
  const shout = task("shout", async (n: number) =>
    n.toUpperCase());
  shout(count());
});
`;

describe("updraft dags check", () => {
  const home = mkdtempSync(join(tmpdir(), "updraft-check-"));
  const dags = join(home, "dags");
  const run = (args: string[], cwd = home) => {
    const r = spawnSync(process.execPath, [UPDRAFT_BIN, "dags", "check", ...args], {
      cwd,
      env: { ...process.env, UPDRAFT_HOME: home, UPDRAFT__CORE__DAGS_FOLDER: dags },
      encoding: "utf8",
      timeout: 120_000,
    });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };

  before(() => {
    assertBuilt();
    mkdirSync(join(dags, "team"), { recursive: true });
    writeFileSync(join(dags, "good.ts"), GOOD);
    writeFileSync(join(dags, "team", "bad.ts"), BAD);
  });
  after(() => rmSync(home, { recursive: true, force: true }));

  test("reports file:line:col: message for the bad file and exits 1", () => {
    const r = run([], dags);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /^team\/bad\.ts:6:7: Property 'toUpperCase' does not exist on type 'number'\.$/m);
    assert.doesNotMatch(r.stdout, /good\.ts/);
    assert.match(r.stdout, /^1 error in 1 file \(2 files checked in \d+\.\d+ s\)$/m);
  });

  test("outside the DAGs folder, files are shown relative to it", () => {
    const elsewhere = join(home, "elsewhere");
    mkdirSync(elsewhere);
    const r = run([], elsewhere);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /^team\/bad\.ts:6:7: /m);
  });

  test("a PATH limits the check: the good file alone passes, a folder holding the bad one fails", () => {
    const good = run([join(dags, "good.ts")]);
    assert.equal(good.code, 0, good.stdout + good.stderr);
    assert.match(good.stdout, /^0 errors in 0 files \(1 files checked/m);
    const team = run(["dags/team"]);
    assert.equal(team.code, 1);
    assert.match(team.stdout, /\(1 files checked/);
  });

  test("-o json gives the diagnostics as data", () => {
    const r = run(["-o", "json"]);
    assert.equal(r.code, 1);
    const result = JSON.parse(r.stdout) as { checked: string[]; diagnostics: Record<string, unknown>[] };
    assert.equal(result.checked.length, 2);
    assert.deepEqual(
      result.diagnostics.map((d) => [d.path, d.line, d.column, d.code]),
      [[join(dags, "team", "bad.ts"), 6, 7, 2339]],
    );
  });

  test("a missing PATH is a clear error", () => {
    const r = run(["nowhere.ts"]);
    assert.equal(r.code, 5);
    assert.match(r.stderr, /nowhere\.ts does not exist/);
  });
});
