/**
 * Pools (Airflow's /api/v2/pools), with the slots their task instances take: running, queued,
 * scheduled and deferred; occupied = running + queued (+ deferred when the pool includes deferred
 * tasks); open = slots - occupied, or -1 for an unlimited pool (slots -1). default_pool cannot be
 * deleted or renamed; only its slots and include_deferred change.
 */
import { poolSlotStates } from "../../core/states.ts";
import { DEFAULT_POOL, poolStore, type Pool, type PoolUsage } from "../../storage/pools.ts";
import type { ApiContext } from "../app.ts";
import { badRequest, conflict, notFound } from "../errors.ts";
import type { components } from "../generated/airflow-v2.ts";
import { fieldsToUpdate, unprocessable, listPage } from "./admin-common.ts";
import { changedKeys, runBulk } from "./bulk.ts";

type PoolBody = components["schemas"]["PoolBody"];
type PoolPatchBody = components["schemas"]["PoolPatchBody"];
type PoolResponse = components["schemas"]["PoolResponse"];

const ORDER = { id: "id", pool: "pool", name: "pool" };
const UPDATABLE = ["pool", "slots", "description", "include_deferred"];
const DEFAULT_POOL_FIELDS = ["slots", "include_deferred"];

const notFoundName = (name: string) => notFound(`The Pool with name: \`${name}\` was not found`);

function fromPool(p: Pool, u: PoolUsage): PoolResponse {
  // The usage buckets count a restarting try as running (storage/pools.ts).
  const occupied = poolSlotStates(p.includeDeferred)
    .filter((state): state is keyof PoolUsage => state in u)
    .reduce((n, state) => n + u[state], 0);
  return {
    name: p.name,
    slots: p.slots,
    description: p.description,
    include_deferred: p.includeDeferred,
    occupied_slots: occupied,
    running_slots: u.running,
    queued_slots: u.queued,
    scheduled_slots: u.scheduled,
    deferred_slots: u.deferred,
    open_slots: p.slots < 0 ? -1 : p.slots - occupied,
    team_name: null,
  };
}

function checkName(name: string, field: string): void {
  if (name.trim() === "") throw unprocessable(field, "Value error, a pool name must not be empty");
}

export function registerPoolRoutes(ctx: ApiContext): void {
  const { db } = ctx.database;
  const store = () => poolStore(ctx.database);

  async function respond(pools: Pool[]): Promise<PoolResponse[]> {
    const usage = await store().usage(pools.map((p) => p.name));
    return pools.map((p) => fromPool(p, usage.get(p.name)!));
  }

  /** PATCH semantics shared by patch_pool and bulk updates; returns the pool as it now is. */
  async function patch(name: string, body: PoolPatchBody, mask: string[] | null | undefined): Promise<Pool> {
    const aliased = mask?.map((f) => (f.trim() === "name" ? "pool" : f));
    const fields = fieldsToUpdate(body, aliased, UPDATABLE, "", "pool").filter(
      (f) => !(f === "pool" && body.pool === name),
    );
    if (name === DEFAULT_POOL && fields.some((f) => !DEFAULT_POOL_FIELDS.includes(f)))
      throw badRequest("Only slots and included_deferred can be modified on Default Pool");
    const old = await store().get(name);
    if (!old) throw notFoundName(name);
    if (fields.includes("slots") && (body.slots === null || body.slots === undefined))
      throw unprocessable("slots", "Input should be a valid integer");
    if (fields.includes("include_deferred") && typeof body.include_deferred !== "boolean")
      throw unprocessable("include_deferred", "Input should be a valid boolean");
    let target = name;
    if (fields.includes("pool")) {
      if (typeof body.pool !== "string") throw unprocessable("pool", "Input should be a valid string");
      checkName(body.pool, "pool");
      if (await store().get(body.pool))
        throw badRequest(`The Pool with name: \`${body.pool}\` already exists: choose another name`);
      await store().rename(name, body.pool);
      target = body.pool;
    }
    const next = {
      name: target,
      slots: fields.includes("slots") ? body.slots! : old.slots,
      description: fields.includes("description") ? (body.description ?? null) : old.description,
      includeDeferred: fields.includes("include_deferred") ? body.include_deferred! : old.includeDeferred,
    };
    await store().set(next);
    return next;
  }

  async function remove(name: string): Promise<void> {
    if (name === DEFAULT_POOL) throw badRequest("Default Pool can't be deleted");
    if (!(await store().get(name))) throw notFoundName(name);
    await store().delete(name);
  }

  const create = async (body: PoolBody): Promise<Pool> => {
    checkName(body.name, "name");
    const pool = {
      name: body.name,
      slots: body.slots,
      description: body.description ?? null,
      includeDeferred: body.include_deferred ?? false,
    };
    await store().set(pool);
    return pool;
  };

  ctx.route("get_pools", async ({ query }) => {
    const { rows, total } = await listPage(
      db.selectFrom("slot_pool").selectAll(),
      query,
      { column: "pool", pattern: query.pool_name_pattern },
      ORDER,
    );
    const pools = rows.map((r) => ({
      name: r.pool,
      slots: r.slots,
      description: r.description,
      includeDeferred: Boolean(r.include_deferred),
    }));
    return { pools: await respond(pools), total_entries: total };
  });

  ctx.route("get_pool", async ({ params }) => {
    const pool = await store().get(params.pool_name);
    if (!pool) throw notFoundName(params.pool_name);
    return (await respond([pool]))[0]!;
  });

  ctx.route(
    "post_pool",
    async ({ body, raw }) => {
      if (await store().get(body.name)) throw conflict(`The Pool with name: \`${body.name}\` already exists`);
      const pool = await create(body);
      await ctx.audit(raw, "post_pool", {
        extra: { pool: pool.name, slots: pool.slots, include_deferred: pool.includeDeferred },
      });
      return (await respond([pool]))[0]!;
    },
    { status: 201 },
  );

  ctx.route("patch_pool", async ({ params, query, body, raw }) => {
    const pool = await patch(params.pool_name, body, query.update_mask);
    await ctx.audit(raw, "patch_pool", {
      extra: {
        pool: params.pool_name,
        ...(pool.name !== params.pool_name ? { new_name: pool.name } : {}),
        slots: pool.slots,
      },
    });
    return (await respond([pool]))[0]!;
  });

  ctx.route("delete_pool", async ({ params, raw }) => {
    await remove(params.pool_name);
    await ctx.audit(raw, "delete_pool", { extra: { pool: params.pool_name } });
  });

  ctx.route("bulk_pools", async ({ body, raw }) => {
    const response = await runBulk<PoolBody>(body.actions, {
      noun: "pools",
      keyNoun: "pool names",
      keyOf: (p) => p.name,
      async existing(names) {
        if (names.length === 0) return new Set();
        const rows = await db.selectFrom("slot_pool").select("pool").where("pool", "in", names).execute();
        return new Set(rows.map((r) => r.pool));
      },
      async create(entity, overwrite) {
        if (overwrite && entity.name === DEFAULT_POOL) {
          await patch(DEFAULT_POOL, entity, DEFAULT_POOL_FIELDS);
          return;
        }
        await create(entity);
      },
      async update(entity, mask) {
        const { name, ...rest } = entity;
        await patch(
          name,
          rest,
          mask?.filter((f) => f !== "name"),
        );
      },
      remove,
    });
    const changed = changedKeys(response);
    if (Object.keys(changed).length) await ctx.audit(raw, "bulk_pools", { extra: changed });
    return response;
  });
}
