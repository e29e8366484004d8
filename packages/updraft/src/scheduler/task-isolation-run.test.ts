/**
 * `isolation: "process"` gives each try of a TypeScript task a fresh process; by default its DAG's
 * worker is reused, and never shared with another DAG.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { triggerDagRun } from "../operations/trigger-run.ts";
import { xcomStore } from "../storage/xcom.ts";
import { dagsHome, type DagsHome } from "../test-support/dags-home.ts";

const dagFile = (dagId: string, isolation: string) => `import { dag, task } from "updraft";
const leave = task("leave", () => {
  const g = globalThis as { left?: string[] };
  const seen = { global: g.left ?? null, env: process.env.UPDRAFT_TEST_LEFT ?? null, pid: process.pid };
  g.left = [...(g.left ?? []), "${dagId}"];
  process.env.UPDRAFT_TEST_LEFT = "${dagId}";
  return seen;
}${isolation});
export default dag({ dagId: "${dagId}" }, () => {
  leave();
});`;

let h: DagsHome;
before(
  async () =>
    (h = await dagsHome({
      "first.ts": dagFile("first", ""),
      "second.ts": dagFile("second", ""),
      "alone.ts": dagFile("alone", ', { isolation: "process" }'),
    })),
);
after(() => h.close());

test("isolation: process starts every try in a fresh process; a DAG's worker is reused by that DAG alone", async () => {
  const runner = h.runner();
  const seen = async (dagId: string) => {
    const run = await triggerDagRun(h.database, { dagId });
    assert.equal(await runner.drive(run, 1), "success");
    return (await xcomStore(h.database).pull(run.id, "leave")) as {
      global: string[] | null;
      env: string | null;
      pid: number;
    };
  };
  try {
    const first = await seen("first");
    const again = await seen("first");
    assert.deepEqual(again.global, ["first"], "the DAG's worker is reused: it starts in milliseconds");
    assert.equal(again.pid, first.pid);
    const second = await seen("second");
    assert.deepEqual([second.global, second.env], [null, null], "nothing another DAG's task left behind");
    assert.notEqual(second.pid, first.pid);
    const alone1 = await seen("alone");
    const alone2 = await seen("alone");
    assert.deepEqual([alone1.global, alone1.env], [null, null], "nothing another task left behind");
    assert.deepEqual([alone2.global, alone2.env], [null, null], "nor what its own previous try left");
    assert.notEqual(alone2.pid, alone1.pid);
    assert.notEqual(alone1.pid, first.pid);
  } finally {
    await runner.close();
  }
});
