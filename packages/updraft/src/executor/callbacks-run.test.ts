/**
 * Task callbacks run for real (issue 20): DAG files whose callbacks append lines to a file, run
 * through the task runner with a real TaskFlow pool (the runner the local executor and `dags test`
 * share) on each database. Each event fires once, with the task's context; a callback's failure or
 * timeout is in the try's log and changes nothing; a stuck synchronous callback is cut off.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { assertBuilt } from "../test-support/service-process.ts";
import { triggerDagRun } from "../operations/trigger-run.ts";
import { connectionStore } from "../storage/connections.ts";
import { childUrl, forEachDatabase } from "../test-support/databases.ts";
import { dagsHome, type DagsHome } from "../test-support/dags-home.ts";

interface Line {
  cb: string;
  task?: string;
  try?: number;
  run?: string;
  error?: string | null;
  ds?: string;
}

function dagFile(out: string): string {
  return `import { appendFileSync } from "node:fs";
import { dag, task, bash, empty, SkipTask, getConnection } from "updraft";
const OUT = ${JSON.stringify(out)};
const note = (cb) => (ctx) => {
  appendFileSync(OUT, JSON.stringify({ cb, task: ctx.ti?.task_id, try: ctx.ti?.try_number, run: ctx.run_id,
    error: ctx.exception?.message ?? null, ds: ctx.ds }) + "\\n");
};
const asyncNote = (cb) => async (ctx) => {
  await new Promise((r) => setTimeout(r, 20));
  note(cb)(ctx);
};
const notifier = { notifier: "file", notify: (ctx) => note("notifier")(ctx) };
async function boom() { throw new Error("callback boom"); }
function slow() { return new Promise((r) => setTimeout(r, 60_000)); }
function stuck() { for (;;) {} }

const ok = task("ok", () => 1, {
  onExecute: note("execute"),
  onSuccess: [note("success"), asyncNote("success-async"), notifier],
});
const flaky = task("flaky", () => { throw new Error("always fails"); }, {
  retries: 1,
  retryDelay: 0,
  onRetry: note("retry"),
  onFailure: [boom, note("failure")],
});
const skipper = task("skipper", () => { throw new SkipTask("not today"); }, { onSkipped: note("skipped") });
const inherit = task("inherit", () => 2);
const looks = task("looks", () => 3, {
  onSuccess: async (ctx) => {
    const c = await getConnection("warehouse");
    note("conn:" + c.host)(ctx);
  },
});
const lateCallback = task("late", () => 4, { onSuccess: [slow, note("after-slow")] });

export default dag({ dagId: "callbacks", defaultArgs: { onSuccess: note("inherited") } }, () => {
  ok();
  flaky();
  skipper();
  bash("shell", { command: "exit 3", onFailure: note("bash-failure"), onExecute: note("bash-execute") });
  inherit();
  empty("nothing");
});
export const looking = dag({ dagId: "callback_lookups" }, () => {
  looks();
});
export const slowOnes = dag({ dagId: "callback_slow" }, () => {
  lateCallback();
});
export const stuckOne = dag({ dagId: "callback_stuck" }, () => {
  task("stuck", () => 5, { onSuccess: [stuck] })();
});
export const badTemplate = dag({ dagId: "callback_template" }, () => {
  bash("tpl", { command: "echo {{ nope(", onFailure: note("tpl-failure") });
});
export const emailed = dag({ dagId: "callback_email" }, () => {
  task("mailed", () => { throw new Error("bad data"); }, { email: ["ops@example.com"], onFailure: note("mail-failure") })();
});
`;
}

function linesOf(path: string): Line[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return [];
  }
  return text
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as Line);
}

forEachDatabase("task callbacks, run for real", (get) => {
  let h: DagsHome;
  let dir: string;
  let out: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "updraft-callbacks-"));
    out = join(dir, "calls.jsonl");
    h = await dagsHome(
      { "callbacks.ts": dagFile(out) },
      { UPDRAFT__DATABASE__URL: childUrl(get()), UPDRAFT__CORE__CALLBACK_TIMEOUT: "2" },
    );
  });
  after(async () => {
    await h.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("each event fires once with the task's context; a failing callback changes nothing", async () => {
    rmSync(out, { force: true });
    const run = await triggerDagRun(h.database, { dagId: "callbacks" });
    assert.equal(await h.drive(run, 2), "failed");
    assert.deepEqual(await h.states(run), {
      ok: "success",
      flaky: "failed",
      skipper: "skipped",
      shell: "failed",
      inherit: "success",
      nothing: "success",
    });
    const lines = linesOf(out);
    const all = JSON.stringify(lines);
    const count = (cb: string, task?: string) =>
      lines.filter((l) => l.cb === cb && (task === undefined || l.task === task)).length;
    // ok: onExecute once, then its list of three (sync, async, notifier) once each.
    for (const cb of ["execute", "success", "success-async", "notifier"])
      assert.equal(count(cb, "ok"), 1, `${cb}: ${all}`);
    const success = lines.find((l) => l.cb === "success")!;
    assert.equal(success.try, 1);
    assert.equal(success.run, run.run_id);
    assert.match(success.ds ?? "", /^\d{4}-\d{2}-\d{2}$/);
    // A task's own option replaces the one it would inherit (as Airflow's default_args).
    assert.equal(count("inherited", "ok"), 0);
    // Inherited from defaultArgs: inherit and the empty task, which succeed.
    assert.equal(count("inherited", "inherit"), 1);
    assert.equal(count("inherited", "nothing"), 1, h.log(run, "nothing"));
    // flaky: onRetry after try 1, onFailure after try 2, each with the error.
    const retry = lines.filter((l) => l.cb === "retry");
    assert.deepEqual(
      retry.map((l) => [l.try, l.error]),
      [[1, "always fails"]],
    );
    const failure = lines.filter((l) => l.cb === "failure");
    assert.deepEqual(
      failure.map((l) => [l.try, l.error]),
      [[2, "always fails"]],
    );
    assert.equal(count("skipped", "skipper"), 1);
    // Bash tasks' callbacks run in the DAG's worker too.
    assert.equal(count("bash-execute", "shell"), 1);
    assert.equal(count("bash-failure", "shell"), 1);
    assert.match(lines.find((l) => l.cb === "bash-failure")!.error ?? "", /exit code 3|exited/);
    // The throwing callback is in the try's log, and the one after it still ran.
    const flakyLog = h.log(run, "flaky", 2);
    assert.match(
      flakyLog,
      /callback onFailure: boom\(\) failed \(the task's state is unchanged\): Error: callback boom/,
    );
    assert.match(flakyLog, /callback onFailure: callback #2 succeeded/);
    assert.match(h.log(run, "flaky", 1), /running 1 onRetry callback/);
    assert.match(h.log(run, "ok"), /running 1 onExecute callback[\s\S]*running 3 onSuccess callbacks/);
    assert.match(h.log(run, "ok"), /callback onSuccess: file notifier succeeded/);
  });

  test("callbacks read connections as the task does", async () => {
    rmSync(out, { force: true });
    await connectionStore(h.database, h.cipher).set({
      connId: "warehouse",
      connType: "postgres",
      host: "db.internal",
      login: null,
      password: null,
      schema: null,
      port: null,
      extra: null,
      description: null,
    });
    const run = await triggerDagRun(h.database, { dagId: "callback_lookups" });
    assert.equal(await h.drive(run, 1), "success");
    assert.deepEqual(
      linesOf(out).map((l) => l.cb),
      ["conn:db.internal"],
      h.log(run, "looks"),
    );
  });

  test("a callback past [core] callback_timeout fails alone; the next one runs", async () => {
    rmSync(out, { force: true });
    const run = await triggerDagRun(h.database, { dagId: "callback_slow" });
    const started = Date.now();
    assert.equal(await h.drive(run, 1), "success");
    assert.ok(Date.now() - started < 30_000);
    assert.deepEqual(
      linesOf(out).map((l) => l.cb),
      ["after-slow"],
    );
    assert.match(h.log(run, "late"), /callback onSuccess: slow\(\) failed .*did not finish within 2 s/);
  });

  test("a synchronous callback that never returns: its worker is replaced, the task stays a success", async () => {
    const run = await triggerDagRun(h.database, { dagId: "callback_stuck" });
    const started = Date.now();
    assert.equal(await h.drive(run, 1), "success");
    assert.ok(Date.now() - started < 40_000, `took ${Date.now() - started} ms`);
    assert.match(
      h.log(run, "stuck"),
      /callback onSuccess: the callbacks did not finish \(the task's state is unchanged\): timed out/,
    );
  });

  test("a task whose template does not render: onFailure runs with the task's context and the error", async () => {
    rmSync(out, { force: true });
    const run = await triggerDagRun(h.database, { dagId: "callback_template" });
    assert.equal(await h.drive(run, 1), "failed");
    const lines = linesOf(out);
    assert.deepEqual(
      lines.map((l) => [l.cb, l.task, l.try]),
      [["tpl-failure", "tpl", 1]],
      h.log(run, "tpl"),
    );
    assert.ok(lines[0]!.error, "the error is in the context");
  });

  test("emailOnFailure (default true with email) sends the alert after the callbacks; its failure is logged", async () => {
    rmSync(out, { force: true });
    const run = await triggerDagRun(h.database, { dagId: "callback_email" });
    assert.equal(await h.drive(run, 1), "failed");
    assert.deepEqual(await h.states(run), { mailed: "failed" });
    assert.deepEqual(
      linesOf(out).map((l) => l.cb),
      ["mail-failure"],
    );
    // The alert went through sendTaskAlertEmail (no SMTP server here: its error is logged).
    assert.match(h.log(run, "mailed"), /callback onFailure: emailOnFailure notifier (failed|succeeded)/);
  });
});

describe("task callbacks under dag.test() (the DAG file's own process)", () => {
  let root: string;
  before(() => {
    assertBuilt();
    root = mkdtempSync(join(tmpdir(), "updraft-callbacks-dag-test-"));
    mkdirSync(join(root, "node_modules"));
    symlinkSync(
      fileURLToPath(new URL("../../", import.meta.url)),
      join(root, "node_modules", "updraft"),
      "dir",
    );
    writeFileSync(join(root, "package.json"), JSON.stringify({ type: "module" }));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  test("success, retry, failure and a bash task's callbacks each fire once", () => {
    const out = join(root, "calls.txt");
    const file = `import { appendFileSync } from "node:fs";
import { dag, task, bash } from "updraft";
const note = (cb: string) => (ctx: any) =>
  appendFileSync(OUT, [cb, ctx.ti.task_id, ctx.ti.try_number, ctx.exception?.message ?? "-", process.pid === MAIN ? "here" : "elsewhere"].join(" ") + "\\n");
const d = dag({ dagId: "cb_test" }, () => {
  task("good", () => 1, { onExecute: note("execute"), onSuccess: note("success") })();
  task("bad", () => { throw new Error("nope"); }, { retries: 1, retryDelay: 0, onRetry: note("retry"), onFailure: note("failure") })();
  bash("sh", { command: "true", onSuccess: note("bash-success") });
});
if (import.meta.main) await d.test();
`;
    const MAIN = "const MAIN = process.pid;\n";
    writeFileSync(join(root, "cb.ts"), MAIN + file.replace("OUT", JSON.stringify(out)));
    const r = spawnSync(process.execPath, ["cb.ts"], {
      cwd: root,
      env: { ...process.env, UPDRAFT_HOME: join(root, "home") },
      encoding: "utf8",
      timeout: 60_000,
    });
    assert.equal(r.status, 1, `${r.stdout}\n${r.stderr}`);
    const lines = readFileSync(out, "utf8").trim().split("\n").sort();
    assert.deepEqual(lines, [
      "bash-success sh 1 - here",
      "execute good 1 - here",
      "failure bad 2 nope here",
      "retry bad 1 nope here",
      "success good 1 - here",
    ]);
    assert.match(r.stdout, /\[good\] .*callback onSuccess: callback #1 succeeded/);
  });
});

forEachDatabase(
  "the callbacks example",
  (get) => {
    test("example_callbacks runs: onRetry, then onSuccess, in the tries' logs", async () => {
      const source = readFileSync(
        new URL("../../examples/dags/example_callbacks.ts", import.meta.url),
        "utf8",
      );
      const h = await dagsHome(
        { "example_callbacks.ts": source },
        { UPDRAFT__DATABASE__URL: childUrl(get()) },
      );
      try {
        const run = await triggerDagRun(h.database, { dagId: "example_callbacks" });
        assert.equal(await h.drive(run, 2), "success");
        assert.match(h.log(run, "flaky", 1), /callback: task flaky, try 1 of run \S+: failed: /);
        assert.match(h.log(run, "flaky", 1), /callback onRetry: report\(\) succeeded/);
        assert.match(h.log(run, "flaky", 2), /callback: task flaky, try 2 of run \S+: ok/);
        const transform = h.log(run, "transform");
        assert.match(transform, /callback: starting transform[\s\S]*callback: task transform, try 1/);
        assert.match(transform, /callback onSuccess: recordDuration\(\) succeeded/);
      } finally {
        await h.close();
      }
    });
  },
  { only: ["sqlite"] },
);
