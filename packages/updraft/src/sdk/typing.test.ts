/**
 * Compile-time checks of TaskFlow typing: `tsc --noEmit` (npm run typecheck) fails if a line marked
 * @ts-expect-error stops being an error, or if a correct call stops compiling. At run time the same
 * calls build a DAG (the SDK does not check value types at run time).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { bash, chain, dag, empty, task, type TaskHandle, type XComArg } from "./index.ts";

test("typed XCom passing compiles where types match and is rejected where they do not", () => {
  const d = dag({ dagId: "typing" }, () => {
    const rows = task("rows", async () => [1, 2, 3])();
    const label = task("label", () => "hello")();
    const nothing = task("nothing", () => {})();
    const total = task("total", async (values: number[]) => values.reduce((a, b) => a + b, 0));
    const describe = task(
      "describe",
      (name: string, count: number, extra?: { tags: string[] }) => `${name}${count}${extra}`,
    );

    // The output's type is the awaited return type.
    const sum: XComArg<number> = total(rows);
    const text: XComArg<string> = describe(label, sum);
    void text;
    describe("literal", 3, { tags: ["a", label] }); // nested outputs are checked too
    describe(label, sum, undefined);

    // @ts-expect-error a string output where number[] is expected
    total(label);
    // @ts-expect-error a plain value of the wrong type
    total("not numbers");
    // @ts-expect-error an output of a task returning nothing
    total(nothing);
    // @ts-expect-error number[] output where a number is expected
    describe("x", rows);
    // @ts-expect-error a nested output of the wrong type
    describe("x", 1, { tags: [sum] });
    // @ts-expect-error missing a required argument
    describe("x");
    // @ts-expect-error too many arguments
    total(rows, 2);
    // @ts-expect-error another key's XCom is unknown until typed
    total(rows.key("other"));
    total(rows.key<number[]>("other"));

    // Outputs and operator handles are task handles.
    const start: TaskHandle = empty("start");
    const end = bash("end", { command: "true" });
    const same: TaskHandle = start.before(rows).before(end);
    chain(start, [sum, text], end);
    void same;

    // @ts-expect-error a handle has no `then`
    void start.then;
  });
  assert.ok(d.taskIds.includes("total__1"));
  // Rejected by the type checker and, at run time, by dag() (which lists such problems once built).
  const build = (add: () => unknown) => () => dag({ dagId: "typing_bad" }, () => void add());
  const noCommand = () =>
    // @ts-expect-error bash needs a command
    bash("no_command", {});
  assert.throws(build(noCommand), /bash\(\) needs a command/);
  const badRule = () =>
    // @ts-expect-error unknown trigger rule
    empty("bad_rule", { triggerRule: "sometimes" });
  assert.throws(build(badRule), /is not a trigger rule/);
});
