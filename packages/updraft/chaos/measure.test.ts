import assert from "node:assert/strict";
import { test } from "node:test";
import { capViolations, measure, parseMarkers, quantile } from "./measure.ts";
import type { Caps } from "./workload.ts";

const CAPS: Caps = {
  parallelism: 3,
  pool: { name: "p", slots: 1 },
  maxActiveTasks: { d: 2 },
  serialDag: "s",
};

/** Marker lines of one try: start at `from`, ticks every 100 ms, then `end` (or nothing) at `to`. */
function lines(
  ti: string,
  tryNo: number,
  pid: number,
  owner: string,
  from: number,
  to: number,
  end = "end",
): string {
  const [dag, run, task] = ti.split(" ");
  const id = `${dag} ${run} ${task} ${tryNo} ${pid}`;
  const out = [`start ${id} ${from} ${owner}`];
  for (let t = from + 100; t < to; t += 100) out.push(`tick ${id} ${t} ${owner}`);
  out.push(`${end || "tick"} ${id} ${to} ${owner}`);
  return out.join("\n");
}

test("a clean history has nothing to report", () => {
  const text = [lines("d r a", 1, 10, "s1.1", 0, 1000), lines("d r b", 1, 11, "s1.1", 1000, 2000)].join("\n");
  const f = measure(parseMarkers(text), [], [], CAPS, 3000);
  assert.equal(f.tries, 2);
  assert.equal(f.triesStartedTwice, 0);
  assert.equal(f.commandsEndedTwice, 0);
  assert.equal(f.overlapSeconds, 0);
  assert.equal(f.caps.violations, 0);
  assert.deepEqual(f.recovery.samples, []);
});

test("an orphan that runs on beside its retry: ended twice, overlap, recovery from the kill", () => {
  // s1.1 is killed at 500; its try runs on to 2000 (an orphan); try 2 starts at 1500 on s2.1.
  const text = [lines("d r a", 1, 10, "s1.1", 0, 2000), lines("d r a", 2, 20, "s2.1", 1500, 2500)].join("\n");
  const f = measure(parseMarkers(text), [{ at: 500, owner: "s1.1" }], [], CAPS, 3000);
  assert.equal(f.commandsEndedTwice, 1);
  assert.equal(f.overlapSeconds, 0.5);
  assert.deepEqual(f.recovery.samples, [1]);
  assert.equal(f.recovery.neverRecovered, 0);
  assert.deepEqual(f.recovery.takeover.samples, [1]);
});

test("a try killed with its scheduler and never run again is censored at the end", () => {
  const text = lines("d r a", 1, 10, "s1.1", 0, 400, "");
  const f = measure(parseMarkers(text), [{ at: 450, owner: "s1.1" }], [], CAPS, 10_450);
  assert.equal(f.recovery.neverRecovered, 1);
  assert.deepEqual(f.recovery.samples, [10]);
});

test("an orphan whose own result was kept needs no recovery", () => {
  const text = lines("d r a", 1, 10, "s1.1", 0, 2000);
  const final = [{ dag: "d", run: "r", task: "a", state: "success", tryNumber: 1 }];
  const f = measure(parseMarkers(text), [{ at: 500, owner: "s1.1" }], final, CAPS, 3000);
  assert.equal(f.recovery.keptByOrphan, 1);
  assert.deepEqual(f.recovery.samples, []);
});

test("one try number started by two processes", () => {
  const text = [lines("d r a", 1, 10, "s1.1", 0, 300), lines("d r a", 1, 11, "s2.1", 1000, 1300)].join("\n");
  assert.equal(measure(parseMarkers(text), [], [], CAPS, 2000).triesStartedTwice, 1);
});

test("caps: pool slots, maxActiveTasks, one active run of the serial DAG, parallelism", () => {
  const text = [
    lines("d r pooled_1", 1, 1, "x", 0, 1000),
    lines("d r pooled_2", 1, 2, "x", 500, 1500), // pool: 2 > 1 for 0.5 s; DAG d: 2, fine
    lines("d r c", 1, 3, "x", 600, 700), // DAG d: 3 > 2 for 0.1 s; parallelism 3, fine
    lines("s r1 a", 1, 4, "x", 650, 900), // serial: r1 alone; parallelism 4 > 3 for 50 ms
    lines("s r2 a", 1, 5, "x", 2000, 3000),
    lines("s r3 a", 1, 6, "x", 3000, 3100), // starts as r2 ends: no overlap
    "start d r k 1 7 650 x", // killed before its first tick: no measurable time, never "running"
  ].join("\n");
  const c = capViolations(parseMarkers(text), CAPS);
  const by = Object.fromEntries(c.detail.map((d) => [d.cap, d]));
  assert.deepEqual([by["pool p"]!.episodes, by["pool p"]!.peak, by["pool p"]!.seconds], [1, 2, 0.5]);
  assert.deepEqual([by["maxActiveTasks d"]!.episodes, by["maxActiveTasks d"]!.peak], [1, 3]);
  assert.equal(by["maxActiveRuns s"]!.episodes, 0);
  assert.deepEqual([by["parallelism"]!.episodes, by["parallelism"]!.peak], [1, 4]);
  assert.equal(c.violations, 3);
});

test("quantile is nearest-rank", () => {
  assert.equal(quantile([], 0.5), null);
  assert.equal(quantile([1, 2, 3, 4], 0.5), 2);
  assert.equal(quantile([1, 2, 3, 4], 0.99), 4);
});
