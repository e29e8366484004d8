import assert from "node:assert/strict";
import { execSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { isAbsolute, join } from "node:path";
import { test } from "node:test";
import { bashSpawnerPid } from "./bash-spawner.ts";
import { bashPath, contextEnv, runBashTask, type LogSink } from "./bash-task.ts";

function memoryLog(): LogSink & { text: () => string } {
  const parts: string[] = [];
  return {
    write: (chunk, stream) => parts.push(`${stream}:${chunk.toString()}`),
    text: () => parts.join(""),
  };
}

test("exit 0 is success, output reaches the log, the context is in the environment", async () => {
  const log = memoryLog();
  const env = contextEnv({
    dagId: "d",
    taskId: "t",
    runId: "r",
    tryNumber: 2,
    logicalDate: "2025-01-01T00:00:00+00:00",
  });
  const outcome = await runBashTask(
    {
      command: 'echo "$UPDRAFT_CTX_DAG_ID/$UPDRAFT_CTX_TASK_ID try $UPDRAFT_CTX_TRY_NUMBER"; echo oops >&2',
      env,
      timeout: null,
    },
    log,
  );
  assert.deepEqual(outcome, { state: "success", exitCode: 0, lastLine: "oops" });
  assert.match(log.text(), /stdout:d\/t try 2/);
  assert.match(log.text(), /stderr:oops/);
});

test("the last line written is kept (Airflow's BashOperator XCom): split chunks, blank ends, long lines", async () => {
  const last = async (command: string) => {
    const outcome = await runBashTask({ command, env: {}, timeout: null }, memoryLog());
    assert.equal(outcome.state, "success");
    return outcome.state === "success" ? outcome.lastLine : null;
  };
  assert.equal(await last("echo one; echo two"), "two");
  assert.equal(await last("printf 'one\\ntwo'"), "two", "no line end after the last line");
  assert.equal(
    await last("printf 'a'; sleep 0.1; printf 'b\\n'; sleep 0.1; printf 'c'; sleep 0.1; printf 'd  \\n'"),
    "cd",
  );
  assert.equal(
    await last("printf 'caf\\xc3'; sleep 0.1; printf '\\xa9\\n'"),
    "café",
    "a character split across chunks",
  );
  assert.equal(await last("echo one; echo"), "", "the last line is empty, as Airflow's");
  assert.equal(await last("true"), "");
  assert.equal((await last("head -c 200000 /dev/zero | tr '\\0' x; echo"))!.length, 64 * 1024);
  // Many lines in one chunk: only the last survives.
  assert.equal(await last("seq 1 100000"), "100000");
});

test("exit 99 is skipped; other codes fail with the code in the reason", async () => {
  assert.deepEqual(await runBashTask({ command: "exit 99", env: {}, timeout: null }, memoryLog()), {
    state: "skipped",
    exitCode: 99,
  });
  assert.deepEqual(await runBashTask({ command: "exit 3", env: {}, timeout: null }, memoryLog()), {
    state: "failed",
    exitCode: 3,
    reason: "bash exited with code 3",
  });
  assert.equal(
    (await runBashTask({ command: "exit 7", env: {}, timeout: null, skipExitCode: 7 }, memoryLog())).state,
    "skipped",
  );
});

test("a timeout kills the whole process group, grandchildren included", async () => {
  const marker = `updraft-test-sleep-${process.pid}-${Date.now()}`;
  const started = Date.now();
  const outcome = await runBashTask(
    { command: `bash -c 'exec -a ${marker} sleep 30' & wait`, env: {}, timeout: 0.5 },
    memoryLog(),
  );
  assert.equal(outcome.state, "failed");
  assert.match((outcome as { reason: string }).reason, /timed out after 0.5s/);
  assert.ok(Date.now() - started < 10_000);
  await new Promise((r) => setTimeout(r, 200));
  // The bracket keeps pgrep from matching its own shell command line.
  const left = execSync(`pgrep -f "[${marker[0]}]${marker.slice(1)}" || true`, { encoding: "utf8" }).trim();
  assert.equal(left, "", "no grandchild survives the timeout");
});

test("an abort signal stops the task", async () => {
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 200);
  const outcome = await runBashTask(
    { command: "sleep 30", env: {}, timeout: null, signal: controller.signal },
    memoryLog(),
  );
  assert.equal(outcome.state, "failed");
  assert.match((outcome as { reason: string }).reason, /cleared/);
});

test("bash is found once on PATH; a task that sets PATH has bash looked up on its own PATH", async () => {
  const path = bashPath({});
  assert.ok(path === "bash" || isAbsolute(path), path);
  assert.equal(bashPath({ PATH: "/nowhere" }), "bash");
  const dir = mkdtempSync(join(tmpdir(), "updraft-bash-"));
  writeFileSync(join(dir, "marker"), "");
  // A relative PATH entry first: the search is left to exec, which resolves it against the cwd.
  const saved = process.env.PATH;
  try {
    process.env.PATH = `.:${saved}`;
    assert.equal(bashPath({}), "bash");
  } finally {
    process.env.PATH = saved;
  }
  const log = memoryLog();
  assert.deepEqual(await runBashTask({ command: "ls; echo $0", env: {}, cwd: dir, timeout: null }, log), {
    state: "success",
    exitCode: 0,
    lastLine: bashPath({}),
  });
  assert.match(log.text(), /marker/);
});

test("a stop that comes before the process has started still stops it, grandchildren included", async () => {
  const marker = `updraft-test-early-${process.pid}-${Date.now()}`;
  const controller = new AbortController();
  const running = runBashTask(
    {
      command: `bash -c 'exec -a ${marker} sleep 30' & wait`,
      env: {},
      timeout: null,
      signal: controller.signal,
    },
    memoryLog(),
  );
  controller.abort();
  const outcome = await running;
  assert.equal(outcome.state, "failed");
  assert.match((outcome as { reason: string }).reason, /cleared/);
  await new Promise((r) => setTimeout(r, 200));
  const left = execSync(`pgrep -f "[${marker[0]}]${marker.slice(1)}" || true`, { encoding: "utf8" }).trim();
  assert.equal(left, "", "no grandchild survives the stop");
});

test("a lot of output reaches the log whole and in order; stdout and stderr stay apart", async () => {
  const parts: string[] = [];
  const log: LogSink = {
    write: (chunk, stream) => void (stream === "stdout" && parts.push(chunk.toString())),
  };
  const outcome = await runBashTask({ command: "seq 1 200000; echo done >&2", env: {}, timeout: null }, log);
  assert.equal(outcome.state, "success");
  const lines = parts.join("").trimEnd().split("\n");
  assert.equal(lines.length, 200000);
  assert.equal(lines[0], "1");
  assert.equal(lines[199999], "200000");
  assert.ok(lines.every((l, i) => l === String(i + 1)));
});

test("cwd, the environment and exit codes go through the spawner; an unusable cwd fails the task", async () => {
  const dir = mkdtempSync(join(tmpdir(), "updraft-bash-"));
  const log = memoryLog();
  const outcome = await runBashTask(
    { command: 'pwd; echo "$MY_VAR"; exit 4', env: { MY_VAR: "é ok" }, cwd: dir, timeout: null },
    log,
  );
  assert.deepEqual(outcome, { state: "failed", exitCode: 4, reason: "bash exited with code 4" });
  // The two lines may arrive as one chunk or two (each chunk is recorded with its stream).
  assert.match(log.text(), new RegExp(`stdout:${dir}\\n(stdout:)?é ok\\n`));
  const missing = await runBashTask(
    { command: "true", env: {}, cwd: join(dir, "nope"), timeout: null },
    memoryLog(),
  );
  assert.equal(missing.state, "failed");
  assert.match((missing as { reason: string }).reason, /could not start bash/);
});

test("when the spawner is lost its running tasks fail and are stopped; the next task starts a new one", async () => {
  const marker = `updraft-test-lost-${process.pid}-${Date.now()}`;
  const log = memoryLog();
  const running = runBashTask(
    { command: `echo started; bash -c 'exec -a ${marker} sleep 30' & wait`, env: {}, timeout: null },
    log,
  );
  while (!log.text().includes("started")) await new Promise((r) => setTimeout(r, 20));
  const first = bashSpawnerPid()!;
  process.kill(first, "SIGKILL");
  const outcome = await running;
  assert.equal(outcome.state, "failed");
  assert.match((outcome as { reason: string }).reason, /spawner exited/);
  await new Promise((r) => setTimeout(r, 200));
  const left = execSync(`pgrep -f "[${marker[0]}]${marker.slice(1)}" || true`, { encoding: "utf8" }).trim();
  assert.equal(left, "", "no grandchild survives");
  assert.deepEqual(await runBashTask({ command: "true", env: {}, timeout: null }, memoryLog()), {
    state: "success",
    exitCode: 0,
    lastLine: "",
  });
  assert.notEqual(bashSpawnerPid(), first);
});
