/**
 * Variables and connections in TypeScript tasks, run for real on each database: setVariable (a task
 * writes, a downstream task reads; secrets stay encrypted and masked; a shadowing UPDRAFT_VAR_ is
 * said in the log; a try that no longer runs its task instance writes nothing), and the context's
 * var, conn and macros as templates have them.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { ConflictError } from "../core/errors.ts";
import { triggerDagRun } from "../operations/trigger-run.ts";
import { nowIso } from "../storage/database.ts";
import { taskInstanceStore } from "../storage/task-instances.ts";
import { variableStore } from "../storage/variables.ts";
import { connectionStore } from "../storage/connections.ts";
import { xcomStore } from "../storage/xcom.ts";
import { childUrl, forEachDatabase } from "../test-support/databases.ts";
import { dagsHome, type DagsHome } from "../test-support/dags-home.ts";
import { writeVariableForTask } from "./lookups.ts";

const DAG = `import { dag, task, getCurrentContext, getVariable, setVariable } from "updraft";
const write = task("write", async () => {
  await setVariable("greeting", "hello");
  await setVariable("stats", { rows: 3, files: ["a", "b"] }, { description: "from write" });
  await setVariable("quoted", "text", { serializeJson: true });
  await setVariable("kept", "new value");
  await setVariable("api_token", "tok-123-secret");
  await setVariable("shadowed", "from the task");
  console.log("the token is tok-123-secret");
});
const read = task("read", async () => {
  const stats = await getVariable<{ rows: number; files: string[] }>("stats", { json: true });
  return [await getVariable("greeting"), stats.rows, stats.files.length, await getVariable("quoted"), await getVariable("shadowed")];
});
const bad = task("bad", async () => {
  await setVariable("nothing", undefined);
});
export default dag({ dagId: "variables" }, () => {
  write().before(read());
});
export const failing = dag({ dagId: "bad_variable" }, () => {
  bad();
});
const context = task("context", async () => {
  const { ds, logical_date, macros, var: vars, conn } = getCurrentContext();
  const warehouse = await conn.get("warehouse");
  return {
    region: await vars.value.get("region"),
    limits: await vars.json.get("limits"),
    fallback: await vars.value.get("absent", "dflt"),
    missing: await vars.value.get("absent").catch((e: Error) => e.message),
    host: warehouse.host,
    uri: warehouse.getUri(),
    noConn: await conn.get("absent", null),
    tomorrow: macros.ds_add(ds, 1),
    weekBefore: macros.datetime.fromisoformat(logical_date).minus(macros.timedelta({ days: 7 })).strftime("%Y-%m-%d %H:%M"),
    span: String(macros.timedelta({ hours: 25 })),
  };
});
export const withContext = dag({ dagId: "context" }, () => {
  context();
});`;

forEachDatabase("setVariable from a TypeScript task, run for real", (get) => {
  let h: DagsHome;
  before(async () => {
    h = await dagsHome({ "variables.ts": DAG }, { UPDRAFT__DATABASE__URL: childUrl(get()) });
    process.env.UPDRAFT_VAR_SHADOWED = "from the environment";
  });
  after(async () => {
    delete process.env.UPDRAFT_VAR_SHADOWED;
    await h.close();
  });

  test("a task writes variables and the next task reads them; secrets stay secret", async () => {
    const variables = variableStore(h.database, h.cipher);
    await variables.set({ key: "kept", value: "old", description: "set by hand", isSecret: true });
    const run = await triggerDagRun(h.database, { dagId: "variables" });
    assert.equal(await h.drive(run, 1), "success", h.log(run, "write") + h.log(run, "read"));
    assert.deepEqual(await xcomStore(h.database).pull(run.id, "read"), [
      "hello",
      3,
      2,
      '"text"',
      "from the environment",
    ]);
    const stats = await variables.get("stats");
    assert.deepEqual(stats, {
      key: "stats",
      value: JSON.stringify({ rows: 3, files: ["a", "b"] }, null, 2),
      description: "from write",
      isSecret: false,
    });
    // A secret stays encrypted whatever its name, with its description; a secret name makes one.
    assert.deepEqual(await variables.get("kept"), {
      key: "kept",
      value: "new value",
      description: "set by hand",
      isSecret: true,
    });
    assert.equal((await variables.get("api_token"))?.isSecret, true);
    const raw = await h.database.db
      .selectFrom("variable")
      .select("val")
      .where("key", "=", "api_token")
      .executeTakeFirst();
    assert.ok(raw?.val && !raw.val.includes("tok-123-secret"), "encrypted at rest");
    const log = h.log(run, "write");
    assert.doesNotMatch(log, /tok-123-secret/, "a secret the task wrote is masked in its log");
    assert.match(log, /UPDRAFT_VAR_SHADOWED is set in the environment and wins on every read/);
  });

  test("a TypeScript task's context has var, conn and macros as templates have them", async () => {
    await variableStore(h.database, h.cipher).set({ key: "region", value: "eu-west" });
    await variableStore(h.database, h.cipher).set({ key: "limits", value: '{"rows": 10}' });
    await connectionStore(h.database, h.cipher).set({
      connId: "warehouse",
      connType: "postgres",
      host: "db.example",
      login: "etl",
      password: "pw",
      schema: "wh",
      port: 5432,
      extra: null,
      description: null,
    });
    const run = await triggerDagRun(h.database, {
      dagId: "context",
      logicalDate: new Date("2024-01-15T06:30:00Z"),
    });
    assert.equal(await h.drive(run, 1), "success", h.log(run, "context"));
    const got = (await xcomStore(h.database).pull(run.id, "context")) as Record<string, unknown>;
    assert.deepEqual(got, {
      region: "eu-west",
      limits: { rows: 10 },
      fallback: "dflt",
      missing:
        'variable "absent" does not exist: create it (updraft variables set absent ...) or pass { default }',
      host: "db.example",
      uri: "postgres://etl:pw@db.example:5432/wh",
      noConn: null,
      tomorrow: "2024-01-16",
      weekBefore: "2024-01-08 06:30",
      span: "1 day, 1:00:00",
    });
  });

  test("a value that is not JSON fails the task, naming the variable", async () => {
    const run = await triggerDagRun(h.database, { dagId: "bad_variable" });
    assert.equal(await h.drive(run, 1), "failed");
    assert.match(h.log(run, "bad"), /variable "nothing": undefined cannot be stored/);
  });

  test("a try that no longer runs its task instance writes nothing", async () => {
    const run = await triggerDagRun(h.database, { dagId: "variables", runId: "stale" });
    const key = { dagId: "variables", runId: "stale", taskId: "write", mapIndex: -1 };
    const tis = taskInstanceStore(h.database);
    assert.ok(await tis.transition(key, "none", "scheduled"));
    assert.ok(await tis.transition(key, "scheduled", "queued"));
    assert.equal((await tis.startTry(key, null, { start_date: nowIso() }))?.try_number, 1);
    const write = (tryNumber: number) =>
      writeVariableForTask(
        h.database,
        h.cipher,
        { key, tryNumber, owner: null },
        { key: "fenced", value: `try ${tryNumber}` },
      );
    assert.deepEqual(await write(1), { shadowedBy: null, secret: false });
    await assert.rejects(write(2), ConflictError, "another try number");
    // Cleared while running: the try is being stopped, its writes are refused.
    assert.ok(await tis.transition(key, "running", "restarting", {}, nowIso(), "user"));
    await assert.rejects(write(1), /no longer runs its task instance .*variable "fenced" was not written/);
    assert.equal((await variableStore(h.database, h.cipher).get("fenced"))?.value, "try 1");
    assert.ok(run);
  });
});
