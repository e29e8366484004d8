/** What a TypeScript task reads through getVariable / getConnection, given what its runner answers. */
import assert from "node:assert/strict";
import { afterEach, test } from "node:test";
import { getConnection, getVariable, setLookup } from "./index.ts";

afterEach(() => setLookup(undefined));

const answers = (variables: Record<string, string>, connections: Record<string, Record<string, unknown>>) =>
  setLookup(async (what, key) =>
    what === "variable" ? (key in variables ? { value: variables[key] } : null) : (connections[key] ?? null),
  );

test("getVariable: the value, { json } parsed, { default } for a missing one, and errors that say what to do", async () => {
  answers({ region: "eu", limits: '{"rows": 10}', broken: "{nope" }, {});
  assert.equal(await getVariable("region"), "eu");
  assert.deepEqual(await getVariable<{ rows: number }>("limits", { json: true }), { rows: 10 });
  assert.deepEqual(await getVariable("limits", { deserializeJson: true }), { rows: 10 });
  assert.equal(await getVariable("absent", { default: "fallback" }), "fallback");
  await assert.rejects(
    getVariable("absent"),
    /variable "absent" does not exist: create it .* or pass \{ default \}/,
  );
  await assert.rejects(getVariable("broken", { json: true }), /variable "broken" is not valid JSON/);
});

test("getConnection: typed fields, extra parsed, and getUri() as Airflow writes it", async () => {
  answers(
    {},
    {
      warehouse: {
        conn_id: "warehouse",
        conn_type: "postgres",
        host: "db.example.com",
        login: "etl",
        password: "s3cret/+",
        schema: "analytics",
        port: 5432,
        extra: '{"sslmode": "require"}',
      },
    },
  );
  const c = await getConnection("warehouse");
  assert.equal(c.host, "db.example.com");
  assert.equal(c.port, 5432);
  assert.deepEqual(c.extra, { sslmode: "require" });
  assert.equal(c.getUri(), "postgres://etl:s3cret%2F%2B@db.example.com:5432/analytics?sslmode=require");
  await assert.rejects(getConnection("absent"), /connection "absent" does not exist/);
});

test("outside a running task, lookups say so", async () => {
  await assert.rejects(getVariable("x"), /only available while a task runs/);
});
