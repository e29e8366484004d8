import assert from "node:assert/strict";
import { test } from "node:test";
import { resolveParams } from "./params.ts";

const specs = {
  n: { type: "integer" as const, default: 5, minimum: 1 },
  mode: { type: "string" as const, default: "fast", enum: ["fast", "slow"] },
  label: { type: ["string", "null"] as ("string" | "null")[], default: null },
};

test("defaults fill what the conf leaves out; extra conf keys pass through", () => {
  assert.deepEqual(resolveParams("d", specs, { n: 7, extra: true }), {
    n: 7,
    mode: "fast",
    label: null,
    extra: true,
  });
});

test("every invalid param is named, with what is wrong", () => {
  assert.throws(
    () => resolveParams("d", specs, { n: 0, mode: "medium" }),
    (e: Error) =>
      /dag "d": the run's conf is not valid/.test(e.message) &&
      /param "n" must be >= 1/.test(e.message) &&
      /param "mode" must be equal to one of the allowed values/.test(e.message),
  );
  assert.throws(() => resolveParams("d", { x: { type: "string" } }, {}), /param "x" has no default/);
  assert.throws(() => resolveParams("d", specs, { n: "7" }), /param "n" must be integer/);
});
