/**
 * DAG callbacks run by real `updraft triggerer` processes on real databases (issue 20): a DAG's
 * onFailure function gets the run's context (and reads a variable through the triggerer), a
 * notifier's notify() is called, a throwing callback fails its request with the error and leaves
 * the run's state alone, and a request whose triggerer is killed with SIGKILL is run by another
 * once the lease lapses.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { pino } from "pino";
import { loadConfig } from "../config/load.ts";
import { processDagFiles } from "../dag-processing/processor.ts";
import { examineRuns } from "../scheduler/examine-runs.ts";
import { dagRunStore } from "../storage/dag-runs.ts";
import type { Database } from "../storage/database.ts";
import { dagStore } from "../storage/dags.ts";
import { childUrl, forEachDatabase } from "../test-support/databases.ts";
import {
  assertBuilt,
  startService,
  until,
  updraftHome,
  type ServiceProcess,
} from "../test-support/service-process.ts";

before(() => assertBuilt());

const log = pino({ level: "silent" });
const out = mkdtempSync(join(tmpdir(), "updraft-dag-callbacks-"));
after(() => rmSync(out, { recursive: true, force: true }));

/** A DAG file whose callbacks write what they got into `dir`. */
const dagFile = (dir: string) => `import { dag, empty, getConnection, getVariable } from "updraft";
import { writeFileSync } from "node:fs";
import { join } from "node:path";

const dir = ${JSON.stringify(dir)};
const notifier = {
  notifier: "file",
  notify: (ctx) => writeFileSync(join(dir, "notified-" + ctx.run_id), ctx.dag.dag_id),
};

export const failing = dag(
  {
    dagId: "cb_failing",
    onFailure: [
      async function record(ctx) {
        writeFileSync(
          join(dir, "failure-" + ctx.run_id),
          JSON.stringify({
            run_id: ctx.run_id,
            reason: ctx.reason,
            ti: ctx.ti?.task_id ?? null,
            dag_id: ctx.dag.dag_id,
            state: ctx.dag_run.state,
            ds: ctx.ds,
            greeting: await getVariable("greeting"),
            databaseUrl: process.env.UPDRAFT__DATABASE__URL ?? null,
            pid: process.pid,
          }),
        );
      },
      notifier,
    ],
    onSuccess: async () => {
      const pager = await getConnection("pager");
      throw new Error("the pager is down for " + pager.login + ":" + pager.password);
    },
  },
  () => void empty("a"),
);

export const stuck = dag(
  {
    dagId: "cb_stuck",
    onFailure: function spin() {
      for (;;);
    },
    onSuccess: (ctx) => writeFileSync(join(dir, "after-stuck-" + ctx.run_id), String(process.pid)),
  },
  () => void empty("a"),
);

export const slow = dag(
  {
    dagId: "cb_slow",
    onFailure: async (ctx) => {
      writeFileSync(join(dir, "started-" + process.pid), ctx.run_id);
      await new Promise((r) => setTimeout(r, 4000));
      writeFileSync(join(dir, "done-" + process.pid), ctx.run_id);
    },
  },
  () => void empty("a"),
);
`;

/** A run of `dagId` whose only task ended in `state`, ended by the scheduler's examination. */
async function endedRun(database: Database, dagId: string, runId: string, state: "success" | "failed") {
  const dag = (await dagStore(database).getSerialized(dagId))!;
  const run = await dagRunStore(database).create({
    dag,
    runId,
    runType: "manual",
    logicalDate: "2025-03-04T00:00:00.000Z",
    dataIntervalStart: null,
    dataIntervalEnd: null,
    runAfter: "2025-03-04T00:00:00.000Z",
    state: "running",
  });
  await database.db
    .updateTable("task_instance")
    .set({ state, end_date: new Date().toISOString() })
    .where("dag_run_id", "=", run.id)
    .execute();
  await examineRuns(database, { now: new Date().toISOString(), log, cancel: () => false });
  return run;
}

const requestOf = (database: Database, runId: string) =>
  database.db.selectFrom("callback_request").selectAll().where("run_id", "=", runId).executeTakeFirst();

const finished = (database: Database, runId: string) => async () => {
  const r = await requestOf(database, runId);
  return r && (r.state === "success" || r.state === "failed") ? r : undefined;
};

forEachDatabase("DAG callbacks in the triggerer (processes)", (get) => {
  const services: ServiceProcess[] = [];
  const homes: { remove(): void }[] = [];
  let env: Record<string, string> = {};
  let dir = "";
  before(async () => {
    const database = get();
    dir = mkdtempSync(join(out, "db-"));
    const home = updraftHome(childUrl(database), {
      UPDRAFT__TRIGGERER__LEASE_SECONDS: "3",
      UPDRAFT__CORE__CALLBACK_TIMEOUT: "5",
      UPDRAFT_VAR_GREETING: "hello from the secrets chain",
      UPDRAFT_CONN_PAGER: "http://oncall:s3cret-pw@pager.example.com",
    });
    homes.push(home);
    env = home.env;
    writeFileSync(join(home.dags, "callbacks.ts"), dagFile(dir));
    const result = await processDagFiles(loadConfig({ env: home.env }), database);
    assert.equal(result.importErrors, 0);
  });
  after(async () => {
    for (const s of services) if (s.alive()) s.child.kill("SIGKILL");
    for (const h of homes) h.remove();
  });

  test("onFailure gets the run's context; a notifier is called; a throwing onSuccess fails its request only", async () => {
    const database = get();
    await endedRun(database, "cb_failing", "f1", "failed");
    await endedRun(database, "cb_failing", "s1", "success");
    const s = startService(["triggerer"], env);
    services.push(s);
    const failure = await until("the failure callbacks ran", 30_000, finished(database, "f1"));
    const success = await until("the success callback ran", 30_000, finished(database, "s1"));
    assert.equal(await s.stop(), 0);
    assert.equal(failure.state, "success", failure.error ?? "");
    const got = JSON.parse(readFileSync(join(dir, "failure-f1"), "utf8")) as Record<string, unknown>;
    assert.deepEqual(
      { ...got, pid: undefined },
      {
        run_id: "f1",
        reason: "task_failure",
        ti: "a",
        dag_id: "cb_failing",
        state: "failed",
        ds: "2025-03-04",
        greeting: "hello from the secrets chain",
        databaseUrl: null,
        pid: undefined,
      },
    );
    assert.notEqual(got.pid, s.child.pid, "callbacks run outside the triggerer's process");
    assert.equal(readFileSync(join(dir, "notified-f1"), "utf8"), "cb_failing");
    assert.equal(success.state, "failed");
    assert.match(
      success.error!,
      /the pager is down for oncall:\*\*\*/,
      "the connection's password is masked",
    );
    assert.doesNotMatch(success.error!, /s3cret-pw/);
    assert.ok(!s.lines.some((l) => JSON.stringify(l).includes("s3cret-pw")), "nor in the triggerer's log");
    assert.equal(
      (await dagRunStore(database).get("cb_failing", "s1"))?.state,
      "success",
      "the run's state stands",
    );
    assert.ok(s.lines.some((l) => l.msg === "callbacks failed (the run's state is unchanged)"));
    assert.ok(s.lines.some((l) => l.msg === "running callbacks" && l.event === "dag_failure"));
  });

  test("a callback that never yields is stopped with its process after the timeout; the next runs in a new one", async (t) => {
    const database = get();
    // The process-level limit does not depend on the database: once is enough.
    if (database.adapter.name !== "sqlite") return t.skip("process behaviour, checked on SQLite");
    await endedRun(database, "cb_stuck", "x1", "failed");
    const s = startService(["triggerer"], env);
    services.push(s);
    const started = Date.now();
    const stuck = await until("the stuck callback is stopped", 40_000, finished(database, "x1"));
    const seconds = (Date.now() - started) / 1000;
    assert.equal(stuck.state, "failed");
    assert.match(stuck.error!, /callback_timeout/);
    assert.ok(seconds >= 5, `stopped after ${seconds} s, not before its 5 s limit`);
    await endedRun(database, "cb_stuck", "x2", "success");
    const next = await until("the next callback runs", 30_000, finished(database, "x2"));
    assert.equal(await s.stop(), 0);
    assert.equal(next.state, "success", next.error ?? "");
    assert.ok(existsSync(join(dir, "after-stuck-x2")));
  });

  test("kill -9 of a triggerer running a callback: another runs it once the lease lapses", async () => {
    const database = get();
    await endedRun(database, "cb_slow", "k1", "failed");
    const a = startService(["triggerer"], env);
    services.push(a);
    await a.waitFor(/^running callbacks$/, 20_000);
    a.child.kill("SIGKILL");
    const b = startService(["triggerer"], env);
    services.push(b);
    const row = await until("another triggerer ran it", 40_000, finished(database, "k1"));
    assert.equal(await b.stop(), 0);
    assert.equal(row.state, "success", row.error ?? "");
    assert.equal(row.attempts, 2, "claimed by the killed triggerer, then by the other");
    const files = readdirSync(dir);
    const done = files.filter((f) => f.startsWith("done-"));
    assert.equal(done.length, 1, `one run finished: ${files.join(", ")}`);
    assert.ok(files.filter((f) => f.startsWith("started-")).length >= 1);
    assert.ok(b.lines.some((l) => l.msg === "callbacks succeeded"));
    assert.equal(existsSync(join(dir, "failure-k1")), false);
  });
});
