/**
 * Variables (Airflow's /api/v2/variables). Secret variables (marked secret, or whose key looks
 * sensitive, like Airflow's masking) are answered as "***": their values never leave the server.
 * Sending "***" back as the value of a secret variable keeps the stored value.
 */
import type { VariableRow } from "../../storage/schema.ts";
import { checkVariableKey, variableStore, type Variable } from "../../storage/variables.ts";
import type { ApiContext } from "../app.ts";
import { badRequest, conflict, HttpError, notFound } from "../errors.ts";
import type { components } from "../generated/airflow-v2.ts";
import { cipherOf, fieldsToUpdate, listPage } from "./admin-common.ts";
import { changedKeys, runBulk } from "./bulk.ts";
import { MASK, redactVariableValue } from "./redact.ts";

type VariableBody = components["schemas"]["VariableBody"];
type VariableResponse = components["schemas"]["VariableResponse"];

const ORDER = {
  key: "key",
  id: "id",
  _val: "val",
  value: "val",
  description: "description",
  is_encrypted: "is_encrypted",
};

const notFoundKey = (key: string) => notFound(`The Variable with key: \`${key}\` was not found`);

/** Airflow stores a variable's value as text: JSON values other than strings are stored as JSON. */
const asText = (value: unknown): string => (typeof value === "string" ? value : JSON.stringify(value));

function fromRow(row: Pick<VariableRow, "key" | "val" | "description" | "is_encrypted">): VariableResponse {
  const secret = Boolean(row.is_encrypted);
  return {
    key: row.key,
    // A secret's stored text is ciphertext; it is never decrypted for an answer.
    value: redactVariableValue(row.key, secret ? MASK : (row.val ?? ""), secret),
    description: row.description,
    is_encrypted: secret,
    team_name: null,
  };
}

const fromVariable = (v: Variable): VariableResponse =>
  fromRow({
    key: v.key,
    val: v.isSecret ? MASK : v.value,
    description: v.description,
    is_encrypted: v.isSecret ? 1 : 0,
  });

export function registerVariableRoutes(ctx: ApiContext): void {
  const { db } = ctx.database;
  const store = () => variableStore(ctx.database, cipherOf(ctx));
  const exists = async (key: string) =>
    (await db.selectFrom("variable").select("key").where("key", "=", key).executeTakeFirst()) !== undefined;

  /** A key the store refuses (empty, invalid Unicode) is a validation failure of the body's key. */
  const keyOr422 = (key: string) => {
    try {
      checkVariableKey(key);
    } catch (error) {
      const msg = (error as Error).message;
      throw new HttpError(422, [{ type: "value_error", loc: ["body", "key"], msg, input: null }]);
    }
  };

  /** A secret keeps its stored value when the client sends back the mask it read. */
  const newValue = (sent: unknown, old: Variable | undefined): string =>
    old?.isSecret && sent === MASK ? old.value : asText(sent);

  async function update(
    key: string,
    body: VariableBody,
    mask: string[] | null | undefined,
  ): Promise<Variable> {
    const old = await store().get(key);
    if (!old) throw notFoundKey(key);
    const fields = fieldsToUpdate(body, mask, ["value", "description"], "key", "variable");
    const next = {
      key,
      value: fields.includes("value") ? newValue(body.value, old) : old.value,
      description: fields.includes("description") ? (body.description ?? null) : old.description,
      isSecret: old.isSecret,
    };
    await store().set(next);
    return next;
  }

  async function create(body: VariableBody, old?: Variable): Promise<Variable> {
    keyOr422(body.key);
    const next = {
      key: body.key,
      value: newValue(body.value, old),
      description: body.description ?? null,
      // Secret when it was, or by its key's name (the store's default).
      ...(old?.isSecret ? { isSecret: true } : {}),
    };
    await store().set(next);
    return (await store().get(body.key))!;
  }

  ctx.route("get_variables", async ({ query }) => {
    const { rows, total } = await listPage(
      db.selectFrom("variable").selectAll(),
      query,
      { column: "key", pattern: query.variable_key_pattern },
      ORDER,
    );
    return { variables: rows.map(fromRow), total_entries: total };
  });

  ctx.route("get_variable", async ({ params }) => {
    const row = await db
      .selectFrom("variable")
      .selectAll()
      .where("key", "=", params.variable_key)
      .executeTakeFirst();
    if (!row) throw notFoundKey(params.variable_key);
    return fromRow(row);
  });

  ctx.route(
    "post_variable",
    async ({ body, raw }) => {
      if (await exists(body.key)) throw conflict(`The Variable with key: \`${body.key}\` already exists`);
      const created = await create(body);
      await ctx.audit(raw, "post_variable", { extra: { key: body.key } });
      return fromVariable(created);
    },
    { status: 201 },
  );

  ctx.route("patch_variable", async ({ params, query, body, raw }) => {
    if (body.key !== params.variable_key)
      throw badRequest("Invalid body, key from request body doesn't match uri parameter");
    const updated = await update(params.variable_key, body, query.update_mask);
    const fields = fieldsToUpdate(body, query.update_mask, ["value", "description"], "key", "variable");
    await ctx.audit(raw, "patch_variable", { extra: { key: params.variable_key, fields } });
    return fromVariable(updated);
  });

  ctx.route("delete_variable", async ({ params, raw }) => {
    if (!(await exists(params.variable_key))) throw notFoundKey(params.variable_key);
    await store().delete(params.variable_key);
    await ctx.audit(raw, "delete_variable", { extra: { key: params.variable_key } });
  });

  ctx.route("bulk_variables", async ({ body, raw }) => {
    const response = await runBulk<VariableBody>(body.actions, {
      noun: "variables",
      keyNoun: "keys",
      keyOf: (v) => v.key,
      async existing(keys) {
        if (keys.length === 0) return new Set();
        const rows = await db.selectFrom("variable").select("key").where("key", "in", keys).execute();
        return new Set(rows.map((r) => r.key));
      },
      async create(entity, overwrite) {
        await create(entity, overwrite ? await store().get(entity.key) : undefined);
      },
      async update(entity, mask) {
        await update(entity.key, entity, mask);
      },
      remove: (key) => store().delete(key),
    });
    const changed = changedKeys(response);
    if (Object.keys(changed).length) await ctx.audit(raw, "bulk_variables", { extra: changed });
    return response;
  });
}
