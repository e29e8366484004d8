/**
 * Deferral end to end, with the processes a user runs: `updraft scheduler` runs the tries, a task's
 * defer() hands its wait to `updraft triggerer`, the trigger fires, and the same try resumes in a new
 * call of its task's `resume`. A deferrable sensor waits on a file trigger the same way. Nothing holds
 * a slot meanwhile: with parallelism 2, twelve waits overlap.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { triggerDagRun } from "../operations/trigger-run.ts";
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

const WAITERS = 10;

forEachDatabase(
  "deferral through a real scheduler and triggerer",
  (get) => {
    const services: ServiceProcess[] = [];
    const homes: { remove(): void }[] = [];
    after(async () => {
      for (const s of services) if (s.alive()) s.child.kill("SIGKILL");
      for (const h of homes) h.remove();
    });

    test("deferred tasks resume the same try after their triggers fire, holding no slot meanwhile", async () => {
      const database = get();
      const home = updraftHome(childUrl(database), {
        UPDRAFT__CORE__DAGS_ARE_PAUSED_AT_CREATION: "false",
        UPDRAFT__CORE__PARALLELISM: "2",
      });
      homes.push(home);
      const flag = join(home.home, "export.done");
      writeFileSync(
        join(home.dags, "waits.ts"),
        `import { dag, task, defer, timeDeltaTrigger, fileSensor, bash } from "updraft";
const wait = task("wait", (n: number) => defer(timeDeltaTrigger("3s"), { timeout: "2m" }), {
  resume: (event, n: number) => ({ n, event }),
});
export default dag({ dagId: "waits", maxActiveTasks: 2 }, () => {
  for (let i = 0; i < ${WAITERS}; i++) wait.override({ taskId: "wait_" + i })(i);
  const file = fileSensor("file", { filepath: ${JSON.stringify(flag)}, deferrable: true, pokeInterval: "200ms", timeout: "2m" });
  bash("make_file", { command: "sleep 1; touch ${flag}" });
  file;
});`,
      );
      const scheduler = startService(["scheduler"], home.env);
      const triggerer = startService(["triggerer"], home.env);
      services.push(scheduler, triggerer);
      await until("the DAG to be parsed", 60_000, async () =>
        (await dagStore(database).get("waits")) ? true : undefined,
      );
      const run = await triggerDagRun(database, { dagId: "waits", runId: "r1" });
      // Every wait is deferred at once although only 2 slots exist: a deferred task holds none.
      const deferredAtOnce = await until("the waits to be deferred together", 60_000, async () => {
        const rows = await database.db
          .selectFrom("task_instance")
          .select("task_id")
          .where("dag_run_id", "=", run.id)
          .where("state", "=", "deferred")
          .execute();
        return rows.length >= WAITERS ? rows.length : undefined;
      });
      assert.ok(deferredAtOnce >= WAITERS);
      const state = await until("the run to end", 90_000, async () => {
        const r = await database.db
          .selectFrom("dag_run")
          .select("state")
          .where("id", "=", run.id)
          .executeTakeFirstOrThrow();
        return r.state === "success" || r.state === "failed" ? r.state : undefined;
      });
      const rows = await database.db
        .selectFrom("task_instance")
        .select(["task_id", "state", "try_number", "next_method", "trigger_id"])
        .where("dag_run_id", "=", run.id)
        .execute();
      assert.equal(state, "success", JSON.stringify(rows));
      for (const r of rows) {
        assert.equal(r.state, "success", r.task_id);
        assert.equal(r.try_number, 1, `${r.task_id}: a resumption is the same try`);
        assert.equal(r.next_method, null);
        assert.equal(r.trigger_id, null);
      }
      const results = await database.db
        .selectFrom("xcom")
        .select(["task_id", "value"])
        .where("dag_run_id", "=", run.id)
        .where("task_id", "like", "wait_%")
        .execute();
      assert.equal(results.length, WAITERS);
      for (const x of results) {
        const value = JSON.parse(x.value!) as { n: number; event: string };
        assert.equal(`wait_${value.n}`, x.task_id, "resume got the task's own arguments");
        assert.ok(!Number.isNaN(Date.parse(value.event)), "and the trigger's event (its moment)");
      }
      const fired = triggerer.lines.filter((l) => l.msg === "trigger fired").length;
      assert.ok(fired >= WAITERS + 1, `the triggerer fired ${fired} triggers`);
      assert.equal(
        (await database.db.selectFrom("trigger").select("id").execute()).length,
        0,
        "no trigger left",
      );
      assert.equal(await triggerer.stop(), 0);
      assert.equal(await scheduler.stop(), 0);
    });
  },
  { only: ["sqlite", "postgres"] },
);
