/**
 * Real `updraft triggerer` processes on real databases: triggers held by a triggerer killed with
 * SIGKILL fire through another within seconds, each exactly once; custom triggers run in a child
 * process that cannot see the service's configuration; SIGTERM hands the triggers back.
 */
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { dateTimeTrigger } from "../sdk/triggers.ts";
import type { Database } from "../storage/database.ts";
import { childUrl, forEachDatabase } from "../test-support/databases.ts";
import { deferredRun } from "../test-support/deferred.ts";
import {
  assertBuilt,
  startService,
  until,
  updraftHome,
  type ServiceProcess,
} from "../test-support/service-process.ts";

before(() => assertBuilt());

const firedBy = (s: ServiceProcess) =>
  s.lines.filter((l) => l.msg === "trigger fired").map((l) => l.trigger as number);

async function tis(database: Database, dagId: string) {
  return database.db
    .selectFrom("task_instance")
    .select(["task_id", "state", "next_method", "next_kwargs", "scheduled_dttm"])
    .where("dag_id", "=", dagId)
    .execute();
}

forEachDatabase("updraft triggerer (processes)", (get) => {
  const services: ServiceProcess[] = [];
  const homes: { remove(): void }[] = [];
  after(async () => {
    for (const s of services) if (s.alive()) s.child.kill("SIGKILL");
    for (const h of homes) h.remove();
  });

  test("kill -9 of a triggerer: its triggers fire through the other within seconds, none twice", async () => {
    const database = get();
    const n = 100;
    const t0 = Date.now();
    // Moments 2-12 s away: the first triggerer fires some before it is killed, the rest are handed over.
    const moments = Array.from({ length: n }, (_, i) => new Date(t0 + 2000 + (i * 10_000) / n));
    const tasks = await deferredRun(
      database,
      "kill_dag",
      "r1",
      moments.map((m) => dateTimeTrigger(m).serialize()),
    );
    const lease = { UPDRAFT__TRIGGERER__LEASE_SECONDS: "3" };
    const homeA = updraftHome(childUrl(database), { ...lease, UPDRAFT__TRIGGERER__CAPACITY: "50" });
    const homeB = updraftHome(childUrl(database), { ...lease, UPDRAFT__TRIGGERER__CAPACITY: "1000" });
    homes.push(homeA, homeB);
    const a = startService(["triggerer"], homeA.env);
    services.push(a);
    await a.waitFor(/^claimed triggers$/, 15_000);
    const b = startService(["triggerer"], homeB.env);
    services.push(b);
    await b.waitFor(/^claimed triggers$/, 15_000);
    // A holds the first 50 (claimed in id order): kill it once it has fired a few of them.
    await until("the first triggerer fires", 15_000, async () => (firedBy(a).length >= 3 ? true : undefined));
    a.child.kill("SIGKILL");
    const killedAt = Date.now();
    const byTaskMoment = (taskId: string) => moments[Number(taskId.slice(1))]!.getTime();
    const rows = await until("every task instance scheduled", 30_000, async () => {
      const r = await tis(database, "kill_dag");
      return r.every((x) => x.state === "scheduled") ? r : undefined;
    });
    assert.equal(await b.stop(), 0);
    assert.ok(b.lines.some((l) => l.msg === "triggerer stopped"));
    // Each trigger's event is written once, by the triggerer holding it (a kill may cut A's last
    // log line after its commit: the log may miss one, never repeat one).
    const fromA = firedBy(a);
    const fromB = firedBy(b);
    assert.equal(new Set([...fromA, ...fromB]).size, fromA.length + fromB.length, "no trigger fired twice");
    assert.ok(fromA.length + fromB.length >= n - 1, "every trigger fired");
    for (const r of rows) {
      const { event } = JSON.parse(r.next_kwargs!) as { event: string };
      assert.equal(Date.parse(event), byTaskMoment(r.task_id), `${r.task_id} got its own trigger's event`);
    }
    assert.ok(
      fromB.some((id) => id <= tasks[49]!.triggerId),
      "B fired some of A's triggers",
    );
    // A's unfired triggers went to B after A's lease (3 s) lapsed: late by a few seconds at most.
    const byTask = new Map(tasks.map((t, i) => [t.taskId, moments[i]!.getTime()]));
    let worst = 0;
    for (const r of rows) {
      assert.equal(r.next_method, "resume");
      const late = Date.parse(r.scheduled_dttm!) - byTask.get(r.task_id)!;
      assert.ok(late >= -50, `${r.task_id} fired ${late} ms early`);
      worst = Math.max(worst, late);
    }
    assert.ok(worst < 3000 + 2500, `worst lateness ${worst} ms (lease 3 s; killed at +${killedAt - t0} ms)`);
  });

  test("custom triggers run in a child without the service's environment; a throwing one fails its task", async () => {
    const database = get();
    const home = updraftHome(childUrl(database));
    homes.push(home);
    mkdirSync(join(home.dags, "triggers"));
    writeFileSync(
      join(home.dags, "triggers", "env.ts"),
      `import { TRIGGER_RULES } from "updraft";
export class EnvTrigger {
  kwargs: { tag: string };
  constructor(kwargs: { tag: string }) {
    this.kwargs = kwargs;
  }
  async *run() {
    await new Promise((r) => setTimeout(r, 50));
    yield {
      tag: this.kwargs.tag,
      databaseUrl: process.env.UPDRAFT__DATABASE__URL ?? null,
      home: process.env.UPDRAFT_HOME ?? null,
      pid: process.pid,
      sdk: TRIGGER_RULES[0],
    };
  }
}
export const Broken = { async *run() { throw new Error("the flag server said no"); } };
export class Empty { async *run() {} }
`,
    );
    await deferredRun(database, "custom_dag", "r1", [
      { classpath: "triggers/env.ts#EnvTrigger", kwargs: { tag: "hello" } },
      { classpath: "triggers/env.ts#Broken", kwargs: {} },
      { classpath: "triggers/env.ts#Empty", kwargs: {} },
      { classpath: "triggers/env.ts#Missing", kwargs: {} },
    ]);
    const s = startService(["triggerer"], home.env);
    services.push(s);
    const rows = await until("the custom triggers end", 30_000, async () => {
      const r = await tis(database, "custom_dag");
      return r.every((x) => x.state === "scheduled") ? r : undefined;
    });
    assert.equal(await s.stop(), 0);
    const byTask = new Map(rows.map((r) => [r.task_id, r]));
    const env = JSON.parse(byTask.get("t0")!.next_kwargs!) as { event: Record<string, unknown> };
    assert.equal(byTask.get("t0")!.next_method, "resume", byTask.get("t0")!.next_kwargs!);
    assert.equal(env.event.tag, "hello");
    assert.equal(env.event.databaseUrl, null, "the database URL never reaches user code");
    assert.equal(env.event.home, null);
    assert.equal(env.event.sdk, "all_success", 'import from "updraft" works');
    assert.notEqual(env.event.pid, s.child.pid, "not the triggerer's process");
    for (const [task, error] of [
      ["t1", /the flag server said no/],
      ["t2", /ended without an event/],
      ["t3", /exports no "Missing"/],
    ] as const) {
      assert.equal(byTask.get(task)!.next_method, "__fail__", task);
      assert.match((JSON.parse(byTask.get(task)!.next_kwargs!) as { error: string }).error, error);
    }
  });

  test("SIGTERM hands the triggers back at once", async () => {
    const database = get();
    const far = new Date(Date.now() + 3_600_000);
    await deferredRun(database, "term_dag", "r1", [
      dateTimeTrigger(far).serialize(),
      dateTimeTrigger(far).serialize(),
    ]);
    const home = updraftHome(childUrl(database));
    homes.push(home);
    const s = startService(["triggerer"], home.env);
    services.push(s);
    await s.waitFor(/^claimed triggers$/, 15_000);
    const held = await database.db
      .selectFrom("trigger")
      .select("id")
      .where("triggerer_id", "is not", null)
      .execute();
    assert.equal(held.length, 2);
    assert.equal(await s.stop(), 0, JSON.stringify(s.lines.slice(-5)) + s.other.join("\n"));
    const free = await database.db
      .selectFrom("trigger")
      .select("id")
      .where("triggerer_id", "is", null)
      .execute();
    assert.equal(free.length, 2);
    const job = await database.db
      .selectFrom("job")
      .select("state")
      .where("job_type", "=", "TriggererJob")
      .orderBy("id", "desc")
      .executeTakeFirstOrThrow();
    assert.equal(job.state, "success");
  });
});
