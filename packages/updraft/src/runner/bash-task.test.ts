import assert from "node:assert/strict";
import { execSync } from "node:child_process";
import { test } from "node:test";
import { contextEnv, runBashTask, type LogSink } from "./bash-task.ts";

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
  assert.deepEqual(outcome, { state: "success", exitCode: 0 });
  assert.match(log.text(), /stdout:d\/t try 2/);
  assert.match(log.text(), /stderr:oops/);
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
