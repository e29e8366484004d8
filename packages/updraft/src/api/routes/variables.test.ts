import assert from "node:assert/strict";
import { test } from "node:test";
import { createCipher } from "../../secrets/cipher.ts";
import { variableStore } from "../../storage/variables.ts";
import { forEachApiDatabase, type ApiHarness } from "../../test-support/api.ts";

const SECRET = "s3cr3t-Variable-value";
const NESTED_SECRET = "nested-api-key-123";

forEachApiDatabase("variables API", {}, (get) => {
  /** Every answer is checked against the spec by the harness, and here for leaked secrets. */
  const call: ApiHarness["call"] = async (op, request) => {
    const response = await get().call(op, request);
    const text = JSON.stringify(response.body);
    assert.ok(!text.includes(SECRET) && !text.includes(NESTED_SECRET), `${op} leaked a secret: ${text}`);
    return response;
  };
  const store = () =>
    variableStore(get().database, createCipher(get().config.values.security.encryption_key));

  test("roles: Viewer may not read variables, User may not create them, Op may", async () => {
    const viewer = await call("get_variables", { as: "Viewer" });
    assert.equal(viewer.status, 403);
    assert.match(viewer.body.detail, /Viewer/);
    const user = await call("post_variable", { as: "User", body: { key: "by_user", value: "x" } });
    assert.equal(user.status, 403);
    assert.equal(await store().get("by_user"), undefined);
    const op = await call("post_variable", { as: "Op", body: { key: "by_op", value: "x" } });
    assert.equal(op.status, 201);
    assert.equal((await call("get_variable", { as: "Op", path: { variable_key: "by_op" } })).body.value, "x");
    assert.equal((await call("delete_variable", { as: "Op", path: { variable_key: "by_op" } })).status, 204);
  });

  test("create, read, update and delete a plain variable", async () => {
    const created = await call("post_variable", {
      body: { key: "region", value: "eu-west-1", description: "where we run" },
    });
    assert.equal(created.status, 201);
    assert.deepEqual(created.body, {
      key: "region",
      value: "eu-west-1",
      description: "where we run",
      is_encrypted: false,
      team_name: null,
    });
    const again = await call("post_variable", { body: { key: "region", value: "us" } });
    assert.equal(again.status, 409);
    assert.equal(again.body.detail, "The Variable with key: `region` already exists");
    assert.equal((await store().get("region"))?.value, "eu-west-1");

    const masked = await call("patch_variable", {
      path: { variable_key: "region" },
      query: { update_mask: ["description"] },
      body: { key: "region", value: "ignored", description: "new text" },
    });
    assert.equal(masked.status, 200);
    assert.equal(masked.body.value, "eu-west-1", "update_mask leaves the value alone");
    assert.equal(masked.body.description, "new text");
    const full = await call("patch_variable", {
      path: { variable_key: "region" },
      body: { key: "region", value: { zone: "b", replicas: 2 } },
    });
    assert.equal(full.body.value, '{"zone":"b","replicas":2}', "JSON values are stored as JSON text");
    assert.equal(full.body.description, "new text", "a PATCH changes only the fields it sends");

    assert.equal((await call("delete_variable", { path: { variable_key: "region" } })).status, 204);
    const gone = await call("get_variable", { path: { variable_key: "region" } });
    assert.equal(gone.status, 404);
    assert.equal(gone.body.detail, "The Variable with key: `region` was not found");
    assert.equal((await call("delete_variable", { path: { variable_key: "region" } })).status, 404);
  });

  test("bad requests: mismatched key 400, unknown mask field 400, missing 404, invalid body 422", async () => {
    await call("post_variable", { body: { key: "k1", value: "v" } });
    const mismatch = await call("patch_variable", {
      path: { variable_key: "k1" },
      body: { key: "k2", value: "v" },
    });
    assert.equal(mismatch.status, 400);
    assert.match(mismatch.body.detail, /doesn't match/);
    const mask = await call("patch_variable", {
      path: { variable_key: "k1" },
      query: { update_mask: ["colour"] },
      body: { key: "k1", value: "v" },
    });
    assert.equal(mask.status, 400);
    assert.match(mask.body.detail, /colour/);
    const missing = await call("patch_variable", {
      path: { variable_key: "nope" },
      body: { key: "nope", value: "v" },
    });
    assert.equal(missing.status, 404);
    const invalid = await call("post_variable", { body: { key: "no_value" } });
    assert.equal(invalid.status, 422);
    assert.deepEqual(invalid.body.detail[0].loc, ["body", "value"]);
    const extra = await call("post_variable", { body: { key: "x", value: "v", colour: "red" } });
    assert.equal(extra.status, 422);
    await call("delete_variable", { path: { variable_key: "k1" } });
  });

  test("secret variables are encrypted at rest and answered as *** everywhere", async () => {
    const created = await call("post_variable", { body: { key: "db_password", value: SECRET } });
    assert.equal(created.status, 201);
    assert.equal(created.body.value, "***");
    assert.equal(created.body.is_encrypted, true);
    const row = await get()
      .database.db.selectFrom("variable")
      .selectAll()
      .where("key", "=", "db_password")
      .executeTakeFirstOrThrow();
    assert.ok(!row.val?.includes(SECRET), "stored encrypted");
    assert.equal((await store().get("db_password"))?.value, SECRET);

    // A variable marked secret (by the CLI, say) with an innocent name is masked too.
    await store().set({ key: "innocent", value: SECRET, isSecret: true });
    assert.equal((await call("get_variable", { path: { variable_key: "innocent" } })).body.value, "***");
    const list = await call("get_variables", {});
    assert.equal(list.status, 200);
    const values = Object.fromEntries(
      list.body.variables.map((v: { key: string; value: string }) => [v.key, v.value]),
    );
    assert.equal(values.db_password, "***");
    assert.equal(values.innocent, "***");

    // Sensitive keys inside a JSON value are masked, the rest is shown.
    const json = await call("post_variable", {
      body: { key: "service", value: { url: "http://x", api_key: NESTED_SECRET } },
    });
    assert.equal(json.body.value, '{"url":"http://x","api_key":"***"}');
    assert.equal(JSON.parse((await store().get("service"))!.value).api_key, NESTED_SECRET);

    // Writing back the mask keeps the secret; a new value replaces it and stays encrypted.
    const kept = await call("patch_variable", {
      path: { variable_key: "db_password" },
      body: { key: "db_password", value: "***", description: "edited" },
    });
    assert.equal(kept.status, 200);
    assert.equal((await store().get("db_password"))?.value, SECRET);
    assert.equal((await store().get("db_password"))?.description, "edited");
    await call("patch_variable", {
      path: { variable_key: "innocent" },
      body: { key: "innocent", value: "new-one" },
    });
    const innocent = await store().get("innocent");
    assert.equal(innocent?.value, "new-one");
    assert.equal(innocent?.isSecret, true, "a PATCH keeps the variable secret");

    // The audit log names the change but holds no value.
    const events = await call("get_event_logs", { query: { event: "patch_variable" } });
    assert.ok(events.body.total_entries >= 2);
    for (const key of ["db_password", "innocent"])
      await call("delete_variable", { path: { variable_key: key } });
    await call("delete_variable", { path: { variable_key: "service" } });
  });

  test("list: pattern, order_by, paging and total_entries", async () => {
    for (const key of ["list_b", "list_a", "list_c", "other"])
      await call("post_variable", { body: { key, value: key.toUpperCase() } });
    const page = await call("get_variables", {
      query: { variable_key_pattern: "list_", order_by: ["-key"], limit: 2, offset: 1 },
    });
    assert.equal(page.status, 200);
    assert.equal(page.body.total_entries, 3);
    assert.deepEqual(
      page.body.variables.map((v: { key: string }) => v.key),
      ["list_b", "list_a"],
    );
    const alternatives = await call("get_variables", { query: { variable_key_pattern: "list_a|OTHER" } });
    assert.deepEqual(alternatives.body.variables.map((v: { key: string }) => v.key).sort(), [
      "list_a",
      "other",
    ]);
    const byValue = await call("get_variables", {
      query: { variable_key_pattern: "list_", order_by: ["value"] },
    });
    assert.deepEqual(
      byValue.body.variables.map((v: { value: string }) => v.value),
      ["LIST_A", "LIST_B", "LIST_C"],
    );
    for (const key of ["list_b", "list_a", "list_c", "other"])
      await call("delete_variable", { path: { variable_key: key } });
  });

  test("bulk: create / update / delete with fail, skip and overwrite", async () => {
    await call("post_variable", { body: { key: "bulk_1", value: "one" } });
    const failed = await call("bulk_variables", {
      body: {
        actions: [
          {
            action: "create",
            entities: [
              { key: "bulk_1", value: "x" },
              { key: "bulk_2", value: "two" },
            ],
          },
        ],
      },
    });
    assert.equal(failed.status, 200);
    assert.deepEqual(failed.body.create, {
      success: [],
      errors: [{ error: "The variables with these keys: {'bulk_1'} already exist.", status_code: 409 }],
    });
    assert.equal(failed.body.update, null);
    assert.equal(await store().get("bulk_2"), undefined, "a failed action changes nothing");

    const mixed = await call("bulk_variables", {
      body: {
        actions: [
          {
            action: "create",
            action_on_existence: "skip",
            entities: [
              { key: "bulk_1", value: "x" },
              { key: "bulk_2", value: "two" },
            ],
          },
          {
            action: "create",
            action_on_existence: "overwrite",
            entities: [{ key: "bulk_token", value: SECRET }],
          },
          {
            action: "update",
            action_on_non_existence: "skip",
            entities: [
              { key: "bulk_1", value: "ONE", description: "d" },
              { key: "bulk_missing", value: "m" },
            ],
            update_mask: ["value"],
          },
          { action: "delete", entities: ["bulk_2", "bulk_missing"] },
        ],
      },
    });
    assert.deepEqual(mixed.body.create, { success: ["bulk_2", "bulk_token"], errors: [] });
    assert.deepEqual(mixed.body.update, { success: ["bulk_1"], errors: [] });
    assert.deepEqual(mixed.body.delete, {
      success: [],
      errors: [
        { error: "The variables with these keys: {'bulk_missing'} were not found.", status_code: 404 },
      ],
    });
    assert.equal((await store().get("bulk_1"))?.value, "ONE");
    assert.equal((await store().get("bulk_1"))?.description, null, "the mask kept description out");
    assert.equal((await store().get("bulk_2"))?.value, "two", "the failed delete left it");
    assert.equal((await store().get("bulk_token"))?.isSecret, true);

    const deleted = await call("bulk_variables", {
      body: {
        actions: [
          {
            action: "delete",
            action_on_non_existence: "skip",
            entities: ["bulk_2", { key: "bulk_1", value: "" }, "none"],
          },
          { action: "delete", entities: ["bulk_token"] },
        ],
      },
    });
    assert.deepEqual(deleted.body.delete.success.sort(), ["bulk_1", "bulk_2", "bulk_token"]);
    assert.equal(await store().get("bulk_1"), undefined);

    const audit = await call("get_event_logs", {
      query: { event: "bulk_variables", order_by: ["-id"], limit: 1 },
    });
    assert.deepEqual(JSON.parse(audit.body.event_logs[0].extra).delete.sort(), [
      "bulk_1",
      "bulk_2",
      "bulk_token",
    ]);
    const denied = await call("bulk_variables", { as: "User", body: { actions: [] } });
    assert.equal(denied.status, 403);
  });
});
