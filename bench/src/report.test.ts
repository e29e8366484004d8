import assert from "node:assert/strict";
import { test } from "node:test";
import {
  cell,
  markdownTable,
  renderDocs,
  renderTables,
  stat,
  tableRows,
  type BenchResult,
} from "./report.ts";
import { hopLatencies } from "./workloads.ts";

test("median and spread of real repetitions", () => {
  assert.deepEqual(stat([1918.3, 2345.1, 2101.7]), { median: 2101.7, min: 1918.3, max: 2345.1, n: 3 });
  assert.equal(stat([3119, 3373]).median, 3246);
  assert.ok(Number.isNaN(stat([]).median));
  assert.equal(
    cell(stat([1918.3, 2345.1, 2101.7]), (v) => `${(v / 1000).toFixed(2)} s`),
    "2.10 s (1.92 s–2.35 s)",
  );
  assert.equal(
    cell(stat([5]), (v) => `${v} ms`),
    "5 ms",
  );
});

test("chain hops are upstream end to downstream start", () => {
  assert.deepEqual(
    hopLatencies([
      [0, 2],
      [3, 4],
      [9, 10],
    ]),
    [1, 5],
  );
});

test("tables and the JSON shape", () => {
  const result: BenchResult = {
    date: "2026-12-02T10:00:00.000Z",
    commit: "abc123",
    command: "npm run bench",
    reps: 3,
    machine: { cpu: "x", cores: 2, ramGiB: 24, os: "Linux", node: "v24" },
    sizes: {
      fanWidth: 1000,
      chain: 200,
      dags: 100,
      dagTasks: 10,
      sleepers: 1000,
      sleepSeconds: 8,
      parallelism: 32,
      celeryPrefork: 8,
    },
    workloads: [
      {
        name: "chain",
        title: "chain of 200 no-op tasks",
        rows: [
          {
            peer: "Updraft",
            backend: "sqlite",
            durable: true,
            measured: true,
            ok: true,
            metrics: {
              hopP50Ms: stat([1, 1, 2]),
              hopP99Ms: stat([13, 40, 20]),
              makespanMs: stat([978, 1420, 1100]),
              roundTripsPerTi: stat([14.2, 14.25, 14.19]),
            },
          },
          {
            peer: "Celery",
            backend: "redis",
            durable: false,
            measured: true,
            ok: false,
            error: "not installed",
            metrics: {},
          },
        ],
      },
    ],
    notMeasured: [],
    totalSeconds: 1,
  };
  const rows = tableRows(result.workloads[0]!);
  assert.deepEqual(rows[0], [
    "peer",
    "backend",
    "durable",
    "hop p50",
    "hop p99",
    "makespan",
    "DB round trips / TI",
  ]);
  assert.deepEqual(rows[1], [
    "Updraft",
    "sqlite",
    "yes",
    "1.0 ms (1.0 ms–2.0 ms)",
    "20 ms (13 ms–40 ms)",
    "1.10 s (978 ms–1.42 s)",
    "14.20",
  ]);
  assert.match(rows[2]![3]!, /^FAILED: not installed/);
  const table = markdownTable(rows).split("\n");
  assert.equal(new Set(table.map((l) => l.length)).size, 1, "columns are padded to one width");
  assert.match(renderTables(result), /### chain of 200 no-op tasks/);
  const back = JSON.parse(JSON.stringify(result)) as BenchResult;
  assert.equal(back.workloads[0]!.rows[0]!.metrics.hopP50Ms!.median, 1);
  assert.match(renderDocs(result), /Command: `npm run bench`/);
});
