/** The secrets chain: the environment first, then the metadata database, for variables and connections alike. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { connectionStore } from "../storage/connections.ts";
import { variableStore } from "../storage/variables.ts";
import { forEachDatabase } from "../test-support/databases.ts";
import { defaultSecrets, environmentConnections, environmentVariables } from "./backends.ts";
import { createCipher, generateKey } from "./cipher.ts";
import { lookupForTask } from "../executor/lookups.ts";

const cipher = createCipher(generateKey());

forEachDatabase("secrets chain", (get) => {
  test("UPDRAFT_VAR_ and UPDRAFT_CONN_ win over the database; the database answers the rest", async () => {
    const database = get();
    await variableStore(database, cipher).set({ key: "region", value: "db-region" });
    await variableStore(database, cipher).set({ key: "only_db", value: "from-db", isSecret: true });
    await connectionStore(database, cipher).set({
      connId: "warehouse",
      connType: "postgres",
      description: null,
      host: "db-host",
      login: null,
      password: null,
      schema: null,
      port: null,
      extra: null,
    });
    const env = {
      UPDRAFT_VAR_REGION: "env-region",
      UPDRAFT_CONN_WAREHOUSE: "postgres://etl:pw@env-host:5433/analytics",
      UPDRAFT_CONN_CACHE: '{"conn_type": "redis", "host": "cache", "port": 6379}',
    };
    const secrets = defaultSecrets(database, cipher, env);
    assert.equal((await secrets.getVariable("region"))?.value, "env-region");
    assert.deepEqual(await secrets.getVariable("only_db"), {
      key: "only_db",
      value: "from-db",
      isSecret: true,
    });
    assert.equal(await secrets.getVariable("absent"), undefined);
    const warehouse = await secrets.getConnection("warehouse");
    assert.equal(warehouse?.host, "env-host");
    assert.equal(warehouse?.port, 5433);
    assert.equal((await secrets.getConnection("cache"))?.connType, "redis");
    assert.equal(await secrets.getConnection("absent"), undefined);
  });

  test("a task's lookups go through the chain", async () => {
    const database = get();
    await variableStore(database, cipher).set({ key: "task_var", value: "db" });
    process.env.UPDRAFT_VAR_TASK_VAR = "env";
    try {
      assert.equal((await lookupForTask(database, cipher, "variable", "task_var"))?.value, "env");
    } finally {
      delete process.env.UPDRAFT_VAR_TASK_VAR;
    }
    assert.equal((await lookupForTask(database, cipher, "variable", "task_var"))?.value, "db");
  });
});

test("environment entries for templates; a malformed connection names its id", () => {
  const env = { UPDRAFT_VAR_A_B: "1", UPDRAFT_CONN_X: "http://h:80", OTHER: "no" };
  assert.deepEqual(environmentVariables(env), [["a_b", "1"]]);
  assert.deepEqual(
    environmentConnections(env).map((c) => [c.connId, c.host]),
    [["x", "h"]],
  );
  assert.throws(
    () => environmentConnections({ UPDRAFT_CONN_BAD: "   " }),
    /connection "bad": the value is empty/,
  );
});
