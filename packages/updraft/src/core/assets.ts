/**
 * Assets (Airflow 3's data-aware scheduling), the pure part: what an asset reference, an alias and
 * a schedule condition are in the serialized DAG, and whether the events queued for a DAG satisfy
 * its condition. The SDK builds these (sdk/assets.ts); storage keeps assets, events and the queue
 * (storage/assets.ts); the scheduler starts runs (scheduler/asset-runs.ts).
 */
import { z } from "zod";

const Extra = z.record(z.string(), z.unknown());

/** An asset as a DAG file declares it: its URI identifies it (Airflow 3 also keys by name). */
export const AssetRefSchema = z.object({
  uri: z.string().min(1),
  name: z.string().min(1),
  group: z.string(),
  extra: Extra,
});
export type AssetRef = z.infer<typeof AssetRefSchema>;

/** A task's outlet: an asset it updates, or an alias whose assets it names at run time. */
export const OutletSchema = z.discriminatedUnion("type", [
  AssetRefSchema.extend({ type: z.literal("asset") }),
  z.object({ type: z.literal("alias"), name: z.string().min(1), group: z.string() }),
]);
export type Outlet = z.infer<typeof OutletSchema>;

/**
 * A schedule condition (Airflow's AssetAll / AssetAny / Asset / AssetAlias): a tree whose leaves are
 * assets (by URI) or aliases (by name; satisfied by an event of any asset the alias has resolved to).
 */
export type AssetCondition =
  | { type: "asset"; uri: string; name: string }
  | { type: "alias"; name: string }
  | { type: "all"; of: AssetCondition[] }
  | { type: "any"; of: AssetCondition[] };

export const AssetConditionSchema: z.ZodType<AssetCondition> = z.lazy(() =>
  z.discriminatedUnion("type", [
    z.object({ type: z.literal("asset"), uri: z.string(), name: z.string() }),
    z.object({ type: z.literal("alias"), name: z.string() }),
    z.object({ type: z.literal("all"), of: z.array(AssetConditionSchema).min(1) }),
    z.object({ type: z.literal("any"), of: z.array(AssetConditionSchema).min(1) }),
  ]),
);

/** The assets (URI to name) and alias names a condition mentions (each once). */
export function conditionLeaves(condition: AssetCondition): {
  assets: Map<string, string>;
  aliases: string[];
} {
  const assets = new Map<string, string>();
  const aliases = new Set<string>();
  const walk = (c: AssetCondition): void => {
    if (c.type === "asset") assets.set(c.uri, c.name);
    else if (c.type === "alias") aliases.add(c.name);
    else c.of.forEach(walk);
  };
  walk(condition);
  return { assets, aliases: [...aliases] };
}

/**
 * Whether the queued events satisfy the condition: `queued` holds the URIs with an event queued for
 * the DAG; `aliasTargets` the URIs each alias has resolved to so far.
 */
export function isSatisfied(
  condition: AssetCondition,
  queued: ReadonlySet<string>,
  aliasTargets: ReadonlyMap<string, readonly string[]> = new Map(),
): boolean {
  switch (condition.type) {
    case "asset":
      return queued.has(condition.uri);
    case "alias":
      return (aliasTargets.get(condition.name) ?? []).some((uri) => queued.has(uri));
    case "all":
      return condition.of.every((c) => isSatisfied(c, queued, aliasTargets));
    case "any":
      return condition.of.some((c) => isSatisfied(c, queued, aliasTargets));
  }
}

/**
 * Airflow's asset_expression (the DAG API field): `{"all": [...]}`, `{"any": [...]}`, an asset as
 * `{"asset": {"uri", "name", "group", "id"}}` without the id here, an alias as `{"alias": {...}}`.
 */
export function assetExpression(condition: AssetCondition): Record<string, unknown> {
  switch (condition.type) {
    case "asset":
      return { asset: { uri: condition.uri, name: condition.name } };
    case "alias":
      return { alias: { name: condition.name } };
    case "all":
    case "any":
      return { [condition.type]: condition.of.map(assetExpression) };
  }
}

/** A short summary for listings (Airflow's timetable summary of an asset schedule is "Asset"). */
export function describeCondition(condition: AssetCondition): string {
  switch (condition.type) {
    case "asset":
      return condition.name === condition.uri ? condition.uri : `${condition.name} (${condition.uri})`;
    case "alias":
      return `alias ${condition.name}`;
    case "all":
    case "any": {
      const parts = condition.of.map((c) =>
        c.type === "asset" || c.type === "alias" ? describeCondition(c) : `(${describeCondition(c)})`,
      );
      return parts.join(condition.type === "all" ? " & " : " | ");
    }
  }
}
