/**
 * Mapped tasks in a real browser against `updraft standalone`: the grid shows a mapped task's cell as
 * the summary of its instances, its page lists them with their labels, and one instance opens with
 * its own log, where it can be cleared alone.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { adminSession, eventually, finishedRun, missing } from "./harness.ts";

const DAG = "mapped_ui";
const MAPPED_DAG = `
import { bash, dag, task } from "updraft";

export default dag({ dagId: "${DAG}", schedule: null, isPausedUponCreation: false }, () => {
  const files = task("files", () => ["a.csv", "b.csv", "bad.csv"], { setup: true });
  const load = task(
    "load",
    (file: string) => {
      console.log("loading " + file);
      if (file === "bad.csv") throw new Error("cannot load " + file);
      return file.length;
    },
    { mapIndexTemplate: "{{ item }}" },
  );
  const listed = files();
  const loaded = load.expand(listed);
  loaded.before(bash("cleanup", { command: "echo cleaning up" }).asTeardown({ setups: listed }));
});
`;

const runId = "mapped_run";
const s = adminSession(
  { dagFiles: { "mapped_ui.ts": MAPPED_DAG }, env: { UPDRAFT__CORE__LOAD_EXAMPLES: "false" } },
  async (server) => {
    await finishedRun(server, DAG, { tasks: 3, state: "failed", runId });
  },
);

test("the grid summarises a mapped task's instances and its page lists them", { skip: missing }, async () => {
  await s.page.goto(`${s.server.base}/dags/${DAG}`);
  // Three instances, one failed: the cell shows the state that matters most.
  const cell = s.page.getByRole("gridcell", { name: `load ${runId}: failed (3 mapped)`, exact: true });
  await cell.waitFor();
  await cell.click();
  const list = s.page.getByRole("region", { name: "Mapped task instances" });
  await list.getByRole("heading", { name: "Mapped task instances (3)" }).waitFor();
  const rows = list.getByRole("row");
  await eventually(async () => assert.equal(await rows.count(), 4));
  assert.deepEqual(
    (await rows.allInnerTexts()).slice(1).map((r) => r.split("\t").slice(0, 3)),
    [
      ["0", "a.csv", "Success"],
      ["1", "b.csv", "Success"],
      ["2", "bad.csv", "Failed"],
    ],
  );
});

test(
  "one mapped instance opens with its own log and can be cleared alone (with its setup and teardown)",
  { skip: missing },
  async () => {
    await s.page.goto(`${s.server.base}/dags/${DAG}/runs/${runId}/tasks/load`);
    await s.page.getByRole("link", { name: "2", exact: true }).click();
    await s.page.getByRole("heading", { name: /load \[bad\.csv\]/ }).waitFor();
    const log = s.page.getByRole("region", { name: "Log" });
    await log.getByText("loading bad.csv").waitFor();
    assert.equal(await log.getByText("loading a.csv").count(), 0);
    await s.page.getByRole("button", { name: "Clear" }).click();
    const dialog = s.page.getByRole("dialog");
    await dialog.getByText("load [2]").first().waitFor();
    // Instance 2 alone, with its setup and teardown (Airflow clears those with their work).
    await dialog.getByRole("button", { name: "Clear 3 task instances" }).click();
    // Only instance 2 runs again (and fails again); 0 and 1 keep their first try.
    await eventually(async () => {
      const tis = (
        await s.server.apiGet(`/api/v2/dags/${DAG}/dagRuns/${runId}/taskInstances/load/listMapped`)
      ).task_instances as { map_index: number; try_number: number; state: string }[];
      assert.deepEqual(
        tis.map((t) => [t.map_index, t.try_number, t.state]),
        [
          [0, 1, "success"],
          [1, 1, "success"],
          [2, 2, "failed"],
        ],
      );
    }, 60_000);
  },
);

test(
  "the graph marks the mapped task and draws the setup's edge to its teardown dashed",
  { skip: missing },
  async () => {
    await s.page.goto(`${s.server.base}/dags/${DAG}?tab=graph`);
    const node = (id: string) => s.page.locator(`.react-flow__node[data-id="${id}"]`);
    await node("load").waitFor();
    assert.equal(await node("load").getByLabel("mapped").textContent(), " [ ]");
    assert.equal(await node("files").getByLabel("setup").count(), 1);
    assert.equal(await node("cleanup").getByLabel("teardown").count(), 1);
    assert.equal(await node("files").getByLabel("mapped").count(), 0);
    const dashed = s.page.locator(".react-flow__edge.setup-teardown");
    await dashed.first().waitFor({ state: "attached" });
    assert.equal(await dashed.count(), 1);
    assert.equal(await s.page.locator(".react-flow__edge").count(), 3);
  },
);
