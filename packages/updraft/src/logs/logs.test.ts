import assert from "node:assert/strict";
import {
  existsSync,
  mkdtempSync,
  readFileSync,
  statSync,
  utimesSync,
  writeFileSync,
  mkdirSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { cleanLogs, compressFinishedLog, readTaskLog, taskLogPath } from "./files.ts";
import { Masker } from "./masker.ts";
import { openTaskLogWriter } from "./writer.ts";

const dir = () => mkdtempSync(join(tmpdir(), "updraft-logs-"));
const key = {
  dag_id: "d",
  run_id: "manual__2025-01-01T00:00:00+00:00",
  task_id: "t",
  map_index: -1,
  try_number: 2,
};

test("Airflow's path layout; ids cannot escape the folder", () => {
  assert.equal(
    taskLogPath("/logs", key),
    "/logs/dag_id=d/run_id=manual__2025-01-01T00:00:00+00:00/task_id=t/attempt=2.log",
  );
  assert.equal(
    taskLogPath("/logs", { ...key, map_index: 3 }),
    "/logs/dag_id=d/run_id=manual__2025-01-01T00:00:00+00:00/task_id=t/map_index=3/attempt=2.log",
  );
  const evil = taskLogPath("/logs", { ...key, run_id: "../../etc", task_id: ".." });
  assert.ok(evil.startsWith("/logs/dag_id=d/"), evil);
  assert.ok(!evil.split("/").includes(".."), evil);
});

test("secrets are masked, also split across chunks and URL-encoded; runner lines are stamped", async () => {
  const path = join(dir(), "a.log");
  const w = openTaskLogWriter(path, {
    maxBytes: 1e6,
    masker: new Masker().add("hunter2", "p@ss/word", "ab"),
  });
  w.write("password is hun", "stdout");
  w.write("ter2 and p%40ss%2Fword\nab is fine\n", "stdout");
  w.write("starting\n", "runner");
  w.write("no newline at the end", "stderr");
  await w.close();
  const text = readFileSync(path, "utf8");
  assert.match(text, /password is \*\*\* and \*\*\*\n/);
  assert.match(text, /ab is fine/);
  assert.match(text, /^\[\d{4}-\d\d-\d\dT[\d:.]+Z\] \{updraft\} starting$/m);
  assert.match(text, /no newline at the end\n$/);
  assert.ok(!text.includes("hunter2"));
});

test("the size cap cuts the log with one marker line and counts what was discarded", async () => {
  const path = join(dir(), "b.log");
  const w = openTaskLogWriter(path, { maxBytes: 100 });
  for (let i = 0; i < 50; i++) w.write(`line ${i} of output\n`, "stdout");
  const result = await w.close();
  const text = readFileSync(path, "utf8");
  assert.equal((text.match(/log cut/g) ?? []).length, 1);
  assert.match(
    text,
    /the 100 bytes limit of \[logging\] max_bytes_per_try was reached; the task keeps running/,
  );
  assert.ok(result.bytesWritten <= 100);
  assert.equal(
    result.bytesWritten + result.bytesDiscarded,
    Array.from({ length: 50 }, (_, i) => `line ${i} of output\n`).join("").length,
  );
});

test("finished logs are gzipped and read back transparently", async () => {
  const path = join(dir(), "c.log");
  writeFileSync(path, "x".repeat(100_000));
  await compressFinishedLog(path);
  assert.equal(existsSync(path), false);
  assert.ok(statSync(`${path}.gz`).size < 1000);
  assert.equal(readTaskLog(path), "x".repeat(100_000));
  assert.equal(readTaskLog(join(dirname(path), "missing.log")), undefined);
});

test("cleaning removes what is past retention, then the oldest past the total cap, and empty folders", () => {
  const base = dir();
  const now = Date.parse("2025-06-01T00:00:00Z");
  const file = (rel: string, daysOld: number, size: number) => {
    const path = join(base, rel);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, "y".repeat(size));
    const t = (now - daysOld * 86_400_000) / 1000;
    utimesSync(path, t, t);
  };
  file("dag_id=a/run_id=r1/task_id=t/attempt=1.log", 40, 10);
  file("dag_id=a/run_id=r2/task_id=t/attempt=1.log.gz", 20, 300);
  file("dag_id=a/run_id=r3/task_id=t/attempt=1.log", 10, 300);
  file("dag_id=a/run_id=r4/task_id=t/attempt=1.log", 1, 300);
  const dry = cleanLogs(base, { retentionDays: 30, maxTotalBytes: 700, now, dryRun: true });
  assert.deepEqual(dry, { filesDeleted: 2, bytesFreed: 310, filesKept: 2, bytesKept: 600 });
  assert.ok(existsSync(join(base, "dag_id=a/run_id=r1")), "a dry run deletes nothing");
  const real = cleanLogs(base, { retentionDays: 30, maxTotalBytes: 700, now });
  assert.deepEqual(real, dry);
  assert.equal(existsSync(join(base, "dag_id=a/run_id=r1")), false, "emptied folders go too");
  assert.ok(existsSync(join(base, "dag_id=a/run_id=r4/task_id=t/attempt=1.log")));
});

test("one try's pieces all land in its file, in order; a piece written after close is still appended", async () => {
  const path = join(dir(), "nested", "a.log");
  const w = openTaskLogWriter(path, { maxBytes: 1e6 });
  assert.equal(existsSync(path), false, "no file before the first write");
  for (let i = 0; i < 100; i++) w.write(`line ${i} é\n`, "stdout");
  const expected = Array.from({ length: 100 }, (_, i) => Buffer.byteLength(`line ${i} é\n`)).reduce(
    (a, b) => a + b,
  );
  assert.equal((await w.close()).bytesWritten, expected);
  w.write("late\n", "runner");
  const lines = readFileSync(path, "utf8").trimEnd().split("\n");
  assert.equal(lines.length, 101);
  assert.deepEqual(
    lines.slice(0, 100),
    Array.from({ length: 100 }, (_, i) => `line ${i} é`),
  );
  assert.match(lines[100]!, /\{updraft\} late$/);
});
