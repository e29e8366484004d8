/** Assets in DAG files: asset(), assetAlias(), anyOf/allOf and their serialized form; outlets; errors. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { isSatisfied } from "../core/assets.ts";
import { SerializedDagSchema } from "../core/serialized.ts";
import { allOf, anyOf, asset, assetAlias, bash, dag, empty, OutletEvents, task } from "./index.ts";

const a = asset("s3://lake/a");
const b = asset("s3://lake/b", { name: "b", group: "sales", extra: { team: "x" } });
const c = asset("s3://lake/c");

test("asset(): the URI names it unless a name is given; group defaults to 'asset'", () => {
  assert.deepEqual([a.uri, a.name, a.group, a.extra], ["s3://lake/a", "s3://lake/a", "asset", {}]);
  assert.deepEqual([b.name, b.group, b.extra], ["b", "sales", { team: "x" }]);
  assert.ok(Object.isFrozen(a));
});

test("asset() and friends refuse what is not an asset, with the fix", () => {
  assert.throws(() => asset(""), /non-empty string/);
  assert.throws(() => asset("airflow://x"), /reserved/);
  assert.throws(() => asset(" s3://x"), /spaces/);
  assert.throws(() => asset("x".repeat(751)), /longer than 750/);
  assert.throws(() => asset("s3://x", { extra: [] as never }), /extra must be an object/);
  assert.throws(() => assetAlias(""), /non-empty/);
  assert.throws(() => anyOf(), /at least one asset/);
  assert.throws(() => allOf(a, "s3://b" as never), /is not an asset/);
});

test("schedule: [a, b] is all of them; anyOf / allOf nest; a.or(b) and a.and(b)", () => {
  const build = (schedule: unknown) =>
    dag({ dagId: "d", schedule: schedule as never }, () => {
      empty("t");
    }).serialize({ fileloc: "d.ts" });
  const list = build([a, b]);
  assert.deepEqual(list.schedule, {
    kind: "assets",
    condition: {
      type: "all",
      of: [
        { type: "asset", uri: "s3://lake/a", name: "s3://lake/a" },
        { type: "asset", uri: "s3://lake/b", name: "b" },
      ],
    },
  });
  assert.deepEqual(SerializedDagSchema.parse(list), list);
  const nested = build(anyOf(allOf(a, b), c.and(assetAlias("al"))));
  assert.equal(nested.schedule?.kind, "assets");
  assert.deepEqual(build(a.or(b)).schedule, build(anyOf(a, b)).schedule);
  assert.deepEqual(build(a).schedule, {
    kind: "assets",
    condition: { type: "asset", uri: "s3://lake/a", name: "s3://lake/a" },
  });
  assert.throws(() => build([a, "@daily"]), /is not an asset/);
});

test("isSatisfied: all needs each, any needs one; aliases by what they resolved to", () => {
  const cond = {
    type: "any",
    of: [
      {
        type: "all",
        of: [
          { type: "asset", uri: "a", name: "a" },
          { type: "asset", uri: "b", name: "b" },
        ],
      },
      { type: "alias", name: "x" },
    ],
  } as const;
  assert.equal(isSatisfied(cond as never, new Set(["a"])), false);
  assert.equal(isSatisfied(cond as never, new Set(["a", "b"])), true);
  assert.equal(isSatisfied(cond as never, new Set(["z"]), new Map([["x", ["z"]]])), true);
});

test("outlets serialize on the task; anything else is refused naming the task", () => {
  const d = dag({ dagId: "p" }, () => {
    task("t", () => 1, { outlets: [b, assetAlias("daily")] })();
    bash("sh", { command: "true", outlets: [a] });
  }).serialize({ fileloc: "p.ts" });
  assert.deepEqual(d.tasks.find((t) => t.taskId === "t")?.outlets, [
    { type: "asset", uri: "s3://lake/b", name: "b", group: "sales", extra: { team: "x" } },
    { type: "alias", name: "daily", group: "asset" },
  ]);
  assert.deepEqual(
    d.tasks.find((t) => t.taskId === "sh")?.outlets?.map((o) => o.name),
    ["s3://lake/a"],
  );
  assert.throws(
    () =>
      dag({ dagId: "bad" }, () => {
        empty("e", { outlets: ["s3://x"] as never });
      }),
    /task "e".*outlets: "s3:\/\/x" is not an asset/s,
  );
});

test("outlet events: extra per asset, add() for aliases, only what was said goes back", () => {
  const events = new OutletEvents();
  assert.equal(events.toWire(), undefined);
  events.get(a).extra = { rows: 1 };
  events.get(a).extra.more = true;
  events.get(assetAlias("daily")).add(c, { day: 2 });
  assert.throws(() => events.get(a).add(c), /add\(\) is for aliases/);
  assert.deepEqual(events.toWire(), {
    assets: [{ uri: "s3://lake/a", extra: { rows: 1, more: true } }],
    aliases: [
      {
        alias: "daily",
        asset: { uri: "s3://lake/c", name: "s3://lake/c", group: "asset", extra: {} },
        extra: { day: 2 },
      },
    ],
  });
});
