/**
 * Assets in DAG files (Airflow 3's Asset, AssetAlias, AssetAny / AssetAll): `asset(uri, options)`,
 * `assetAlias(name)`, `anyOf(...)` / `allOf(...)` (nestable; `a.or(b)`, `a.and(b)` as Airflow's `|`
 * and `&`), used as a DAG's `schedule` and a task's `outlets`. Inside a running task,
 * `outletEvents(asset).extra = {...}` and `outletEvents(alias).add(asset, extra)` say what the
 * asset events of its success carry (Airflow's `outlet_events[...]`).
 */
import type { AssetCondition, AssetRef, Outlet } from "../core/assets.ts";
import { getCurrentContext } from "./control.ts";
import { definitionError, describe, type Where } from "./fail.ts";

const ASSET_BRAND = Symbol.for("updraft.asset");

/** Combinators every schedule condition has: Airflow's `|` and `&`. */
interface Combinable {
  /** Either this or the other (Airflow's `a | b`, AssetAny). */
  or(...others: AssetExpression[]): AssetAny;
  /** This and the other (Airflow's `a & b`, AssetAll). */
  and(...others: AssetExpression[]): AssetAll;
}

export interface Asset extends Combinable {
  readonly [ASSET_BRAND]: "asset";
  readonly uri: string;
  readonly name: string;
  readonly group: string;
  readonly extra: Readonly<Record<string, unknown>>;
}

export interface AssetAlias extends Combinable {
  readonly [ASSET_BRAND]: "alias";
  readonly name: string;
  readonly group: string;
}

export interface AssetAny extends Combinable {
  readonly [ASSET_BRAND]: "any";
  readonly objects: readonly AssetExpression[];
}

export interface AssetAll extends Combinable {
  readonly [ASSET_BRAND]: "all";
  readonly objects: readonly AssetExpression[];
}

/** What a DAG's schedule takes as a condition. */
export type AssetExpression = Asset | AssetAlias | AssetAny | AssetAll;

export interface AssetOptions {
  /** Default: the URI (Airflow 3 names every asset). */
  name?: string;
  /** Default "asset". */
  group?: string;
  /** JSON the asset carries (not its events'). */
  extra?: Record<string, unknown>;
}

function combinable<T extends object>(self: T): T & Combinable {
  const value = self as T & Combinable;
  Object.defineProperty(value, "or", {
    value: (...others: AssetExpression[]) => anyOf(value as unknown as AssetExpression, ...others),
  });
  Object.defineProperty(value, "and", {
    value: (...others: AssetExpression[]) => allOf(value as unknown as AssetExpression, ...others),
  });
  return Object.freeze(value);
}

/**
 * An asset, identified by its URI (e.g. "s3://bucket/orders.parquet", "postgres://db/sales/orders",
 * or any "scheme://..." or plain path-like name).
 *
 * @example
 * const orders = asset("s3://warehouse/orders", { extra: { team: "sales" } });
 * dag({ dagId: "report", schedule: [orders] }, () => { ... });
 */
export function asset(uri: string, options: AssetOptions = {}): Asset {
  checkUri(uri);
  const name = options.name ?? uri;
  if (typeof name !== "string" || name.trim() === "" || name.length > 750)
    throw new TypeError(`asset("${uri}"): name must be a non-empty string of at most 750 characters`);
  const group = options.group ?? "asset";
  if (typeof group !== "string" || group === "")
    throw new TypeError(`asset("${uri}"): group must be a non-empty string, e.g. group: "warehouse"`);
  const extra = options.extra ?? {};
  if (extra === null || typeof extra !== "object" || Array.isArray(extra))
    throw new TypeError(`asset("${uri}"): extra must be an object, got ${describe(extra)}`);
  return combinable({ [ASSET_BRAND]: "asset" as const, uri, name, group, extra: structuredClone(extra) });
}

function checkUri(uri: unknown): asserts uri is string {
  if (typeof uri !== "string" || uri.trim() === "")
    throw new TypeError(`asset(uri): the URI must be a non-empty string, got ${describe(uri)}`);
  if (uri.length > 750)
    throw new TypeError(`asset("${uri.slice(0, 40)}..."): the URI is longer than 750 characters`);
  if (/^airflow:/i.test(uri) || /^updraft:/i.test(uri))
    throw new TypeError(`asset("${uri}"): the "${uri.split(":")[0]}" scheme is reserved: use another scheme`);
  if (uri !== uri.trim()) throw new TypeError(`asset("${uri}"): the URI has leading or trailing spaces`);
}

/** An alias (Airflow's AssetAlias): a task names the assets it stands for when it runs. */
export function assetAlias(name: string, options: { group?: string } = {}): AssetAlias {
  if (typeof name !== "string" || name.trim() === "" || name.length > 750)
    throw new TypeError(`assetAlias(name): the name must be a non-empty string, got ${describe(name)}`);
  return combinable({ [ASSET_BRAND]: "alias" as const, name, group: options.group ?? "asset" });
}

/** A run once any of them has an event (Airflow's AssetAny, `a | b`). */
export function anyOf(...objects: AssetExpression[]): AssetAny {
  return combinable({ [ASSET_BRAND]: "any" as const, objects: checkObjects("anyOf", objects) });
}

/** A run once each of them has an event (Airflow's AssetAll, `a & b`; what `schedule: [a, b]` means). */
export function allOf(...objects: AssetExpression[]): AssetAll {
  return combinable({ [ASSET_BRAND]: "all" as const, objects: checkObjects("allOf", objects) });
}

function checkObjects(what: string, objects: AssetExpression[]): AssetExpression[] {
  if (objects.length === 0) throw new TypeError(`${what}() needs at least one asset`);
  const bad = objects.find((o) => !isAssetExpression(o));
  if (bad !== undefined)
    throw new TypeError(
      `${what}(): ${describe(bad)} is not an asset: write asset("uri"), assetAlias("name") or anyOf/allOf(...)`,
    );
  return [...objects];
}

export function isAssetExpression(value: unknown): value is AssetExpression {
  return typeof value === "object" && value !== null && ASSET_BRAND in value;
}

export function isAsset(value: unknown): value is Asset {
  return isAssetExpression(value) && value[ASSET_BRAND] === "asset";
}

export function isAssetAlias(value: unknown): value is AssetAlias {
  return isAssetExpression(value) && value[ASSET_BRAND] === "alias";
}

/** Whether a schedule value is an asset schedule: a condition, or a non-empty list of conditions. */
export function isAssetSchedule(value: unknown): boolean {
  if (isAssetExpression(value)) return true;
  return Array.isArray(value) && value.length > 0 && value.some(isAssetExpression);
}

/** The serialized condition of `schedule: [a, b]` (all of them) or of a condition. */
export function conditionOf(value: unknown, where: Where): AssetCondition {
  if (Array.isArray(value)) {
    const stray = value.find((v) => !isAssetExpression(v));
    if (stray !== undefined)
      throw definitionError(
        where,
        `schedule: ${describe(stray)} in the list is not an asset: a list schedule holds assets only, e.g. schedule: [asset("s3://a"), asset("s3://b")]`,
      );
    return { type: "all", of: value.map((v) => conditionOf(v, where)) };
  }
  const e = value as AssetExpression;
  switch (e[ASSET_BRAND]) {
    case "asset":
      return { type: "asset", uri: e.uri, name: e.name };
    case "alias":
      return { type: "alias", name: e.name };
    case "any":
    case "all":
      return { type: e[ASSET_BRAND], of: e.objects.map((o) => conditionOf(o, where)) };
  }
}

/** The serialized outlets of a task's `outlets` option; throws naming what is wrong. */
export function outletsOf(value: unknown, where: Where): Outlet[] {
  if (!Array.isArray(value))
    throw definitionError(
      where,
      `outlets must be a list of assets, got ${describe(value)}: write outlets: [asset("s3://bucket/key")]`,
    );
  return value.map((v) => {
    if (isAsset(v)) return { type: "asset", uri: v.uri, name: v.name, group: v.group, extra: { ...v.extra } };
    if (isAssetAlias(v)) return { type: "alias", name: v.name, group: v.group };
    throw definitionError(
      where,
      `outlets: ${describe(v)} is not an asset or an asset alias: write asset("uri") or assetAlias("name")`,
    );
  });
}

/** The serialized form of an asset (for what a task adds to an alias at run time). */
export function assetRefOf(a: Asset): AssetRef {
  return { uri: a.uri, name: a.name, group: a.group, extra: { ...a.extra } };
}

/** What a task says about the events of its success: extra per asset, assets added to aliases. */
export interface OutletEventsWire {
  assets: { uri: string; extra: Record<string, unknown> }[];
  aliases: { alias: string; asset: AssetRef; extra: Record<string, unknown> }[];
}

/** `outletEvents(asset)`: the event the task's success records for it. */
export interface OutletEventAccessor {
  /** JSON the event carries (Airflow's `outlet_events[asset].extra`); replace or change it. */
  extra: Record<string, unknown>;
  /** For an alias: records an event of `asset` through the alias (Airflow's `outlet_events[alias].add`). */
  add(asset: Asset, extra?: Record<string, unknown>): void;
}

/** The accessors of one running task, kept in its context as `outlet_events`. */
export class OutletEvents {
  readonly #assets = new Map<string, OutletEventAccessor>();
  readonly #aliases: OutletEventsWire["aliases"] = [];

  /** The accessor of an asset or alias (the same object each time). */
  get(ref: Asset | AssetAlias): OutletEventAccessor {
    if (!isAsset(ref) && !isAssetAlias(ref))
      throw new TypeError(`outletEvents(): ${describe(ref)} is not an asset or an asset alias`);
    const key = isAsset(ref) ? `asset:${ref.uri}` : `alias:${ref.name}`;
    let accessor = this.#assets.get(key);
    if (!accessor) {
      accessor = this.#accessor(ref);
      this.#assets.set(key, accessor);
    }
    return accessor;
  }

  #accessor(ref: Asset | AssetAlias): OutletEventAccessor {
    const aliases = this.#aliases;
    return {
      extra: {},
      add(target: Asset, extra: Record<string, unknown> = {}) {
        if (!isAssetAlias(ref))
          throw new TypeError(`outletEvents(asset).add(): add() is for aliases; set .extra on an asset`);
        if (!isAsset(target))
          throw new TypeError(`outletEvents(alias).add(): ${describe(target)} is not an asset`);
        aliases.push({ alias: ref.name, asset: assetRefOf(target), extra: structuredClone(extra) });
      },
    };
  }

  /** What goes back to the runner with the task's result (JSON). */
  toWire(): OutletEventsWire | undefined {
    const assets = [...this.#assets]
      .filter(([key, a]) => key.startsWith("asset:") && Object.keys(a.extra).length > 0)
      .map(([key, a]) => ({ uri: key.slice("asset:".length), extra: JSON.parse(JSON.stringify(a.extra)) }));
    if (assets.length === 0 && this.#aliases.length === 0) return undefined;
    return { assets, aliases: JSON.parse(JSON.stringify(this.#aliases)) };
  }
}

/**
 * Inside a running task: the asset event its success records for `ref`.
 *
 * @example
 * const load = task("load", () => { outletEvents(orders).extra = { rows: 42 }; }, { outlets: [orders] });
 * const pick = task("pick", () => { outletEvents(daily).add(asset(`s3://x/${ds}`), { ok: true }); }, { outlets: [daily] });
 */
export function outletEvents(ref: Asset | AssetAlias): OutletEventAccessor {
  const events = getCurrentContext<{ outlet_events?: OutletEvents }>().outlet_events;
  if (!events) throw new Error("outletEvents() is only available while a TypeScript task runs");
  return events.get(ref);
}
