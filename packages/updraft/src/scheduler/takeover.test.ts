/**
 * Kill -9 a real `updraft scheduler` process (its whole process group) while its task runs: another
 * real scheduler takes the task instance over within two seconds (not after the heartbeat timeout),
 * runs it again without using up a retry, and nothing of the killed try is left running.
 */
import assert from "node:assert/strict";
import { execFileSync, type ChildProcess } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { dagStore } from "../storage/dags.ts";
import type { Database } from "../storage/database.ts";
import { taskInstanceStore } from "../storage/task-instances.ts";
import { childUrl, forEachDatabase } from "../test-support/databases.ts";
import { triggerDagRun } from "../operations/trigger-run.ts";
import {
  assertBuilt,
  startService,
  until,
  updraftHome,
  type ServiceProcess,
} from "../test-support/service-process.ts";

/** A home with one DAG of one bash task, and real `updraft scheduler` processes on `database`. */
function fleet(database: Database, command: string, extraEnv: Record<string, string> = {}) {
  const home = updraftHome(childUrl(database), {
    UPDRAFT__CORE__DAGS_ARE_PAUSED_AT_CREATION: "false",
    ...extraEnv,
  });
  writeFileSync(
    join(home.dags, "slow.ts"),
    `import { dag, bash } from "updraft";
export default dag({ dagId: "slow" }, () => {
  bash("work", { command: ${JSON.stringify(command)} });
});`,
  );
  const services: ServiceProcess[] = [];
  return {
    services,
    start(): ServiceProcess {
      const service = startService(["scheduler"], home.env, { detached: true });
      services.push(service);
      return service;
    },
    stop() {
      for (const s of services.splice(0)) killGroup(s.child);
      home.remove();
    },
  };
}

assertBuilt(); // the schedulers run the built dist/

forEachDatabase("scheduler takeover after kill -9", (get) => {
  const fleets: ReturnType<typeof fleet>[] = [];
  after(() => {
    for (const f of fleets) f.stop();
  });

  test("a killed scheduler's running task runs again elsewhere within 2 s; its processes are gone", async () => {
    const database = get();
    const token = `takeover-${process.pid}-${Date.now()}`;
    const marker = join(tmpdir(), `${token}.marker`);
    const f = fleet(
      database,
      `if [ -f ${marker} ]; then echo second; else touch ${marker}; sleep 60 # ${token}\nfi`,
    );
    fleets.push(f);
    const startScheduler = () => f.start();
    const first = startScheduler();
    await until(
      "the DAG to be parsed",
      30_000,
      async () => (await dagStore(database).get("slow")) ?? undefined,
    );
    await triggerDagRun(database, { dagId: "slow", runId: "r1" });
    const tis = taskInstanceStore(database);
    const key = { dagId: "slow", runId: "r1", taskId: "work" };
    const running = await until("the first try to run", 30_000, async () => {
      const ti = await tis.get(key);
      return ti?.state === "running" && ti.pid !== null ? ti : undefined;
    });
    await until("the first try's command", 10_000, async () => (pgrep(token).length > 0 ? true : undefined));
    startScheduler();
    // The second scheduler judges nobody during its first seconds (see liveness.ts).
    await new Promise((r) => setTimeout(r, 6_000));

    const killedAt = Date.now();
    process.kill(-first.child.pid!, "SIGKILL");
    const second = await until("the task instance to run again", 20_000, async () => {
      const ti = await tis.get(key);
      return ti && ti.try_number >= 2 ? ti : undefined;
    });
    const takeoverMs = Date.now() - killedAt;
    console.log(`# ${database.adapter.name}: taken over ${takeoverMs} ms after kill -9`);
    assert.ok(takeoverMs < 2_000, `the task instance ran again ${takeoverMs} ms after the kill`);
    assert.notEqual(second.claimed_by_job_id, running.claimed_by_job_id);
    assert.equal(second.max_tries, running.max_tries + 1, "the interrupted try used up no retry");
    const done = await until("the second try to succeed", 20_000, async () => {
      const ti = await tis.get(key);
      return ti?.state === "success" ? ti : undefined;
    });
    assert.equal(done.try_number, 2);
    assert.deepEqual(pgrep(token), [], "the killed scheduler's task processes are gone");
    f.stop();
    rmSync(marker, { force: true });
  });

  test("a paused scheduler's try, resumed after its successor started, writes nothing", async () => {
    const database = get();
    const token = `paused-${process.pid}-${Date.now()}`;
    const marker = join(tmpdir(), `${token}.marker`);
    // Short heartbeats, so the paused scheduler is presumed dead after 3 s (it still holds its lock).
    const f = fleet(
      database,
      `if [ -f ${marker} ]; then echo second; else touch ${marker}; sleep 4; echo first; fi`,
      { UPDRAFT__SCHEDULER__TASK_HEARTBEAT_TIMEOUT: "3" },
    );
    fleets.push(f);
    const paused = f.start();
    await until(
      "the DAG to be parsed",
      30_000,
      async () => (await dagStore(database).get("slow")) ?? undefined,
    );
    await triggerDagRun(database, { dagId: "slow", runId: "r2" });
    const tis = taskInstanceStore(database);
    const key = { dagId: "slow", runId: "r2", taskId: "work" };
    const first = await until("the first try to run", 30_000, async () => {
      const ti = await tis.get(key);
      return ti?.state === "running" ? ti : undefined;
    });
    process.kill(paused.child.pid!, "SIGSTOP"); // the scheduler alone: its bash task runs on to its end
    f.start();
    const second = await until("another scheduler to run the task instance again", 30_000, async () => {
      const ti = await tis.get(key);
      return ti?.state === "success" && ti.try_number === 2 ? ti : undefined;
    });
    process.kill(paused.child.pid!, "SIGCONT"); // it wakes up and records its try 1 as a success: refused
    await paused.waitFor(/^a stale try's result was refused$/, 20_000);
    await new Promise((r) => setTimeout(r, 500));
    const now = await tis.get(key);
    assert.deepEqual(
      [now?.state, now?.try_number, now?.claimed_by_job_id, now?.end_date],
      ["success", 2, second.claimed_by_job_id, second.end_date],
    );
    assert.notEqual(second.claimed_by_job_id, first.claimed_by_job_id);
    const history = await tis.archivedTries(key);
    assert.deepEqual(
      history.map((h) => [h.try_number, h.state]),
      [
        [1, "failed"],
        [2, "success"],
      ],
    );
    f.stop();
    rmSync(marker, { force: true });
  });
});

function killGroup(child: ChildProcess): void {
  try {
    process.kill(-child.pid!, "SIGKILL");
  } catch {
    // already gone
  }
}

function pgrep(pattern: string): number[] {
  try {
    return execFileSync("pgrep", ["-f", pattern], { encoding: "utf8" }).trim().split("\n").map(Number);
  } catch {
    return [];
  }
}
