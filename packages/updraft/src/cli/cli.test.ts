/**
 * The CLI as a user runs it: a real `updraft` process per command, a fresh UPDRAFT_HOME, a SQLite file.
 * With -o json only the payload is on stdout, so every listing here is parsed from stdout.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";

const MAIN = fileURLToPath(new URL("./main.ts", import.meta.url));

function cli(home: string, args: string[], extraEnv: Record<string, string> = {}) {
  const env = { ...process.env, UPDRAFT_HOME: home, UPDRAFT__CORE__DAGBAG_IMPORT_TIMEOUT: "3", ...extraEnv };
  const result = spawnSync(process.execPath, [MAIN, ...args], { env, encoding: "utf8", timeout: 60_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

const json = (r: { stdout: string; stderr: string }) => {
  try {
    return JSON.parse(r.stdout);
  } catch {
    throw new Error(`stdout is not JSON:\n${r.stdout}\nstderr:\n${r.stderr}`);
  }
};

describe("updraft CLI", () => {
  const home = mkdtempSync(join(tmpdir(), "updraft-cli-"));
  const dags = join(home, "dags");

  before(() => {
    mkdirSync(dags, { recursive: true });
    writeFileSync(
      join(dags, "good.ts"),
      `import { dag, empty, chain } from "updraft";\nexport default dag({ dagId: "mine", schedule: "@hourly", tags: ["team"] }, () => { chain(empty("a"), [empty("b"), empty("c")], empty("d")); });`,
    );
    writeFileSync(
      join(dags, "broken.ts"),
      `import { dag } from "updraft";\nexport default dag({ dagId: "broken" }, () => { const x: number = ; });`,
    );
    writeFileSync(
      join(dags, "cycle.ts"),
      `import { dag, empty } from "updraft";\nexport default dag({ dagId: "cycle" }, () => { const a = empty("a"); const b = empty("b"); a.before(b); b.before(a); });`,
    );
    writeFileSync(
      join(dags, "cron.ts"),
      `import { dag, empty } from "updraft";\nexport default dag({ dagId: "cron", schedule: "0 25 * * *" }, () => { empty("a"); });`,
    );
    writeFileSync(
      join(dags, "hang.ts"),
      `import { dag } from "updraft";\nawait new Promise(() => setInterval(() => {}, 1000));`,
    );
  });

  test("commands other than db migrate ask for it on a fresh home", () => {
    const r = cli(home, ["dags", "list", "--no-parse"]);
    assert.equal(r.code, 4);
    assert.match(r.stderr, /run `updraft db migrate` first/);
    assert.equal(r.stdout, "");
  });

  test("db migrate is idempotent; db check reports OK", () => {
    assert.match(cli(home, ["db", "migrate"]).stdout, /Applied \d+ migration/);
    assert.match(cli(home, ["db", "initdb"]).stdout, /up to date/);
    assert.match(cli(home, ["initdb"]).stdout, /up to date/);
    const check = cli(home, ["db", "check"]);
    assert.equal(check.code, 0);
    assert.match(check.stdout, /is OK/);
  });

  test("dags list -o json lists the good DAGs and the examples; broken files become import errors", () => {
    const list = cli(home, ["dags", "list", "-o", "json"]);
    assert.equal(list.code, 0, list.stderr);
    const ids: string[] = json(list).map((d: { dag_id: string }) => d.dag_id);
    assert.ok(ids.includes("mine"));
    assert.ok(
      ids.some((id) => id.startsWith("example_")),
      `examples are listed: ${ids.join(", ")}`,
    );
    assert.ok(!ids.includes("cycle") && !ids.includes("broken") && !ids.includes("cron"));
    const errors = json(cli(home, ["dags", "list-import-errors", "-o", "json", "--no-parse"]));
    const byFile = new Map(errors.map((e: { fileloc: string; message: string }) => [e.fileloc, e.message]));
    assert.deepEqual([...byFile.keys()].sort(), ["broken.ts", "cron.ts", "cycle.ts", "hang.ts"]);
    assert.match(String(byFile.get("cycle.ts")), /a -> b -> a|b -> a -> b/);
    assert.match(String(byFile.get("cron.ts")), /0 25 \* \* \*/);
    assert.match(String(byFile.get("hang.ts")), /did not finish loading within 3s/);
  });

  test("dags show draws the graph; details and yaml output work; unknown ids exit 5", () => {
    const show = cli(home, ["dags", "show", "mine", "--no-parse"]);
    assert.equal(
      show.stdout,
      "mine (4 tasks)\n  a (empty)\n    b (empty)  <- a\n    c (empty)  <- a\n      d (empty)  <- b, c\n",
    );
    assert.match(cli(home, ["dags", "show", "mine", "--format", "dot", "--no-parse"]).stdout, /"a" -> "b";/);
    const details = cli(home, ["dags", "details", "mine", "-o", "yaml", "--no-parse"]).stdout;
    assert.match(details, /schedule: "@hourly"/);
    assert.match(details, /schedule_description: every hour\n/);
    const missing = cli(home, ["dags", "details", "nope", "--no-parse"]);
    assert.equal(missing.code, 5);
    assert.match(missing.stderr, /dag "nope" not found/);
  });

  test("variables: set, get, list masks secrets, export and import round-trip", () => {
    cli(home, ["variables", "set", "region", "eu"]);
    cli(home, ["variables", "set", "cfg", '{"a": 1}', "--json"]);
    cli(home, ["variables", "set", "db_password", "hunter2"]);
    assert.equal(cli(home, ["variables", "get", "region"]).stdout, "eu\n");
    assert.equal(cli(home, ["variables", "get", "region"], { UPDRAFT_VAR_REGION: "us" }).stdout, "us\n");
    assert.equal(cli(home, ["variables", "get", "nope", "--default", "x"]).stdout, "x\n");
    assert.equal(cli(home, ["variables", "get", "nope"]).code, 5);
    const listed = json(cli(home, ["variables", "list", "-o", "json"]));
    assert.deepEqual(listed.find((v: { key: string }) => v.key === "db_password").value, "***");
    const file = join(home, "vars.json");
    cli(home, ["variables", "export", file]);
    assert.deepEqual(JSON.parse(readFileSync(file, "utf8")), {
      cfg: '{"a": 1}',
      db_password: "hunter2",
      region: "eu",
    });
    writeFileSync(file, JSON.stringify({ region: "ap", added: { n: 1 } }));
    assert.match(
      cli(home, ["variables", "import", file, "--action-on-existing-key", "skip"]).stdout,
      /1 of 2/,
    );
    assert.equal(cli(home, ["variables", "get", "region"]).stdout, "eu\n");
    assert.equal(cli(home, ["variables", "get", "added"]).stdout, '{"n":1}\n');
    assert.equal(cli(home, ["variables", "set", "bad", "{", "--json"]).code, 2);
    assert.equal(cli(home, ["variables", "delete", "region"]).code, 0);
    assert.equal(cli(home, ["variables", "delete", "region"]).code, 5);
  });

  test("connections: add by URI and by fields, get, list, export and import", () => {
    assert.equal(
      cli(home, [
        "connections",
        "add",
        "wh",
        "--conn-uri",
        "postgresql://etl:p%40ss@db.example.com:5432/dw?sslmode=require",
      ]).code,
      0,
    );
    assert.equal(
      cli(home, [
        "connections",
        "add",
        "api",
        "--conn-type",
        "http",
        "--conn-host",
        "example.com",
        "--conn-port",
        "443",
      ]).code,
      0,
    );
    assert.equal(cli(home, ["connections", "add", "wh", "--conn-uri", "http://x"]).code, 6);
    const bad = cli(home, ["connections", "add", "bad", "--conn-uri", "a://b://c://d"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /bad/);
    const wh = json(cli(home, ["connections", "get", "wh", "-o", "json"]))[0];
    assert.equal(wh.conn_type, "postgres");
    assert.equal(wh.password, "***");
    const revealed = json(cli(home, ["connections", "get", "wh", "-o", "json", "--reveal"]))[0];
    assert.equal(revealed.password, "p@ss");
    assert.equal(revealed.uri, "postgres://etl:p%40ss@db.example.com:5432/dw?sslmode=require");
    const env = join(home, "conns.env");
    cli(home, ["connections", "export", env]);
    assert.match(
      readFileSync(env, "utf8"),
      /^wh=postgres:\/\/etl:p%40ss@db\.example\.com:5432\/dw\?sslmode=require$/m,
    );
    assert.equal(cli(home, ["connections", "delete", "wh"]).code, 0);
    assert.match(cli(home, ["connections", "import", env]).stdout, /1 of 2 connection/);
    assert.equal(json(cli(home, ["connections", "get", "wh", "-o", "json", "--reveal"]))[0].password, "p@ss");
  });

  test("pools and config", () => {
    assert.equal(cli(home, ["pools", "set", "gpu", "2", "the GPU box"]).code, 0);
    assert.deepEqual(json(cli(home, ["pools", "get", "gpu", "-o", "json"])), [
      { pool: "gpu", slots: 2, description: "the GPU box", include_deferred: false },
    ]);
    assert.equal(cli(home, ["pools", "set", "gpu", "two"]).code, 2);
    assert.equal(cli(home, ["pools", "delete", "default_pool"]).code, 2);
    assert.equal(
      cli(home, ["config", "get-value", "core", "parallelism"], { UPDRAFT__CORE__PARALLELISM: "7" }).stdout,
      "7\n",
    );
    const listed = json(cli(home, ["config", "list", "-o", "json"]));
    const key = listed.find((e: { key: string }) => e.key === "encryption_key");
    assert.equal(key.value, "***");
    assert.equal(key.source, join(home, "updraft.toml"));
    assert.equal(cli(home, ["config", "get-value", "core", "nope"]).code, 5);
  });

  test("--help works everywhere and unknown commands fail", () => {
    for (const args of [
      ["--help"],
      ["dags", "--help"],
      ["dags", "list", "--help"],
      ["connections", "add", "--help"],
    ]) {
      assert.equal(cli(home, args).code, 0, args.join(" "));
    }
    assert.notEqual(cli(home, ["dags", "frobnicate"]).code, 0);
  });

  test("dags test runs a DAG here and exits 0; tasks logs shows a try's log; trigger warns about a pause", () => {
    const run = cli(home, ["dags", "test", "mine", "2025-03-04"]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /\[d\] .*try 1 ended: success/);
    assert.match(run.stdout, /Run manual__2025-03-04T00:00:00\+00:00 of mine: success/);
    const states = json(
      cli(home, ["tasks", "states-for-dag-run", "mine", "manual__2025-03-04T00:00:00+00:00", "-o", "json"]),
    );
    assert.deepEqual(
      states.map((t: { task_id: string; state: string }) => `${t.task_id}:${t.state}`),
      ["a:success", "b:success", "c:success", "d:success"],
    );
    assert.match(
      cli(home, ["tasks", "logs", "mine", "a", "manual__2025-03-04T00:00:00+00:00"]).stdout,
      /try 1 ended: success/,
    );
    const triggered = cli(home, ["dags", "trigger", "mine", "--conf", '{"x": 1}', "-o", "json"]);
    assert.match(triggered.stderr, /is paused: the run waits until you unpause it/);
    assert.equal(json(triggered)[0].state, "queued");
    assert.equal(cli(home, ["dags", "trigger", "mine", "--conf", "[1]"]).code, 2);
  });

  test("dags backfill lists the intervals in the DAG's timezone; tasks list and next-execution", () => {
    const dry = json(
      cli(
        home,
        [
          "dags",
          "backfill",
          "mine",
          "-s",
          "2025-01-01T00:00",
          "-e",
          "2025-01-01T02:00",
          "--dry-run",
          "-o",
          "json",
          "--no-parse",
        ].filter((a) => a !== "--no-parse"),
      ),
    );
    assert.deepEqual(
      dry.map((r: { logical_date: string }) => r.logical_date),
      ["2025-01-01T00:00:00.000Z", "2025-01-01T01:00:00.000Z", "2025-01-01T02:00:00.000Z"],
    );
    const tasks = json(cli(home, ["tasks", "list", "mine", "-o", "json"]));
    assert.deepEqual(
      tasks.map((t: { task_id: string }) => t.task_id),
      ["a", "b", "c", "d"],
    );
    assert.equal(cli(home, ["dags", "next-execution", "mine", "-n", "2", "-o", "json"]).code, 0);
  });

  test("secrets are masked in task logs, which are gzipped when the try ends", () => {
    writeFileSync(
      join(dags, "secret.ts"),
      `import { dag, bash } from "updraft";\nexport default dag({ dagId: "secretive" }, () => { bash("leak", { command: "echo token={{ var.value.api_password }}" }); });`,
    );
    assert.equal(cli(home, ["variables", "set", "api_password", "s3cr3t-value"]).code, 0);
    const run = cli(home, ["dags", "test", "secretive", "2025-03-04"]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /token=\*\*\*/);
    assert.ok(!run.stdout.includes("s3cr3t-value"));
    const log = cli(home, ["tasks", "logs", "secretive", "leak", "manual__2025-03-04T00:00:00+00:00"]);
    assert.match(log.stdout, /token=\*\*\*/);
    const path = join(
      home,
      "logs",
      "dag_id=secretive",
      "run_id=manual__2025-03-04T00:00:00+00:00",
      "task_id=leak",
      "attempt=1.log",
    );
    // Its log is a block or less: kept as it is when the try ended (larger ones are gzipped).
    assert.ok(existsSync(path) && !existsSync(`${path}.gz`), "a one-block log stays plain");
    const clean = json(cli(home, ["logs", "clean", "--retention-days", "0", "--dry-run", "-o", "json"]));
    assert.ok(clean.filesDeleted >= 1 && clean.dryRun === true);
    assert.ok(
      clean.deleted.some(
        (d: { path: string; reason: string }) => d.path === path && d.reason === "retention",
      ),
    );
    const listed = cli(home, ["logs", "clean", "--retention-days", "0", "--dry-run"]);
    assert.match(listed.stdout, /Would delete:[\s\S]*attempt=1\.log[\s\S]*retention/);
    assert.ok(existsSync(path), "a dry run deletes nothing");
    assert.equal(cli(home, ["logs", "clean", "--max-total-bytes", "-1"]).code, 2, "a bad number is refused");
  });

  test("tasks test runs one task in a test run; tasks run reruns a finished task instance", () => {
    const tested = cli(home, ["tasks", "test", "mine", "c", "2025-04-01"]);
    assert.equal(tested.code, 0, tested.stderr);
    assert.match(tested.stdout, /mine\.c in run manual__2025-04-01T00:00:00\+00:00: success/);
    const states = json(
      cli(home, ["tasks", "states-for-dag-run", "mine", "manual__2025-04-01T00:00:00+00:00", "-o", "json"]),
    );
    assert.deepEqual(
      states.map((t: { task_id: string; state: string }) => `${t.task_id}:${t.state}`),
      ["a:none", "b:none", "c:success", "d:none"],
    );
    const rerun = cli(home, ["tasks", "run", "mine", "c", "manual__2025-04-01T00:00:00+00:00"]);
    assert.equal(rerun.code, 0, rerun.stderr);
    assert.match(rerun.stdout, /running try 2 of/);
    assert.equal(cli(home, ["tasks", "run", "mine", "nope", "manual__2025-04-01T00:00:00+00:00"]).code, 5);
  });

  test("dags list-versions: a new version when the DAG changes, none when the file is parsed again unchanged", () => {
    const file = join(dags, "versioned.ts");
    const define = (tasks: string) =>
      `import { dag, empty, chain } from "updraft";\nexport default dag({ dagId: "versioned" }, () => { chain(${tasks}); });\n`;
    writeFileSync(file, define('empty("a"), empty("b")'));
    assert.equal(cli(home, ["dags", "reserialize"]).code, 0);
    assert.equal(cli(home, ["dags", "reserialize"]).code, 0);
    const one = json(cli(home, ["dags", "list-versions", "versioned", "-o", "json"]));
    assert.deepEqual(
      one.map((v: { version_number: number }) => v.version_number),
      [1],
    );
    writeFileSync(file, define('empty("a"), empty("b"), empty("c")'));
    assert.equal(cli(home, ["dags", "reserialize"]).code, 0);
    const two = json(cli(home, ["dags", "list-versions", "versioned", "-o", "json"]));
    assert.deepEqual(
      two.map((v: { version_number: number }) => v.version_number),
      [2, 1],
    );
    assert.match(two[0].dag_hash, /^[0-9a-f]{64}$/);
    assert.notEqual(two[0].dag_hash, two[1].dag_hash);
    assert.equal(two[0].runs, 0);
    assert.equal(cli(home, ["dags", "list-versions", "nope"]).code, 5);
  });
});
