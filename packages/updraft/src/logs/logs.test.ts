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
import { compressFinishedLog, readTaskLog, taskLogPath } from "./files.ts";
import { BLOCK, countFolder, LogFolder } from "./folder.ts";
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

test("a finished log of one disk block or less stays as it is (gzip would save no disk)", async () => {
  const small = join(dir(), "small.log");
  writeFileSync(small, "y".repeat(4096));
  await compressFinishedLog(small);
  assert.ok(existsSync(small) && !existsSync(`${small}.gz`));
  assert.equal(readTaskLog(small), "y".repeat(4096));
  const larger = join(dir(), "larger.log");
  writeFileSync(larger, "y".repeat(4097));
  await compressFinishedLog(larger);
  assert.ok(!existsSync(larger) && existsSync(`${larger}.gz`));
});

test("cleaning removes what is past retention, then the oldest past the cap (in disk blocks), and empty folders", async () => {
  const base = dir();
  const now = Date.parse("2025-06-01T00:00:00Z");
  const file = (rel: string, daysOld: number, size: number) => {
    const path = join(base, rel);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, "y".repeat(size));
    const t = (now - daysOld * 86_400_000) / 1000;
    utimesSync(path, t, t);
    return path;
  };
  // 300 short logs: 30 KB of text, but 300 blocks (1.2 MB) on the disk.
  for (let i = 0; i < 300; i++) file(`dag_id=a/run_id=r${i}/task_id=t/attempt=1.log.gz`, 13 - i / 100, 100);
  file("dag_id=a/run_id=old/task_id=t/attempt=1.log", 40, 10);
  const newest = file("dag_id=a/run_id=new/task_id=t/attempt=1.log", 1, 300);
  const service = file("scheduler.log", 100, 5000);
  const before = await countFolder(base);
  assert.ok(before.total > 300 * BLOCK, `disk use is counted in blocks (${before.total})`);
  const cap = 1024 * 1024;
  const folder = new LogFolder({ base, retentionDays: 30, maxTotalBytes: cap, clock: () => now });
  const dry = await folder.clean({ dryRun: true });
  assert.equal(dry.deleted[0]!.reason, "retention", "past retention goes first");
  assert.ok(dry.deleted.slice(1).every((d) => d.reason === "cap"));
  assert.ok(dry.diskAfter <= cap * 0.8, `planned down to the low water: ${dry.diskAfter}`);
  assert.equal((await countFolder(base)).total, before.total, "a dry run deletes nothing");
  const real = await folder.clean();
  assert.deepEqual(
    real.deleted.map((d) => d.path),
    dry.deleted.map((d) => d.path),
  );
  const after = await countFolder(base);
  assert.equal(real.diskAfter, after.total, "the folder's count after the clean is what the disk says");
  assert.ok(after.total <= cap, `${after.total} <= ${cap}`);
  assert.equal(folder.used, after.total);
  assert.equal(existsSync(join(base, "dag_id=a/run_id=old")), false, "emptied folders go too");
  assert.ok(existsSync(join(base, "dag_id=a/run_id=r0")) === false, "the oldest went");
  assert.ok(existsSync(newest), "the newest stays");
  assert.ok(existsSync(service), "a service's own log is never deleted, however old");
});

test("the log of a running try is never deleted, nor anything when running tries cannot be known", async () => {
  const base = dir();
  const path = taskLogPath(base, key);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, "running\n");
  const old = (Date.now() - 90 * 86_400_000) / 1000;
  utimesSync(path, old, old);
  const live = new LogFolder({
    base,
    retentionDays: 30,
    maxTotalBytes: 0,
    liveLogs: async () => [path],
  });
  assert.equal((await live.clean()).filesLive, 1);
  assert.ok(existsSync(path), "a try the database says is running keeps its log");
  const opened = new LogFolder({ base, retentionDays: 30, maxTotalBytes: 0 });
  opened.opened(path);
  await opened.clean();
  assert.ok(existsSync(path), "a log open in this process stays");
  const unknown = new LogFolder({
    base,
    retentionDays: 30,
    maxTotalBytes: 0,
    liveLogs: () => Promise.reject(new Error("database away")),
  });
  const r = await unknown.clean();
  assert.equal(r.liveUnknown, true);
  assert.ok(existsSync(path), "without the database nothing is deleted");
  opened.closed(path);
  await opened.clean();
  assert.equal(existsSync(path), false, "once closed, retention applies");
});

test("a writer with the folder's budget stops at the cap, says so, and gives compression's savings back", async () => {
  const base = dir();
  const cap = 1024 * 1024;
  const folder = new LogFolder({ base, retentionDays: 0, maxTotalBytes: cap });
  await folder.clean();
  const path = taskLogPath(base, key);
  folder.opened(path); // as the task runner does: the cleans this starts must not take it
  const w = openTaskLogWriter(path, { maxBytes: 10 * cap, budget: folder });
  const line = "z".repeat(99) + "\n";
  for (let i = 0; i < 20_000; i++) w.write(line, "stdout");
  const result = await w.close();
  assert.ok(result.bytesDiscarded > 0, "past the folder's cap, output is discarded");
  assert.ok(folder.used <= cap, `the running total stays under the cap: ${folder.used}`);
  assert.ok((await countFolder(base)).total <= cap, "and so does the disk");
  assert.match(
    readFileSync(path, "utf8"),
    /bytes of output were discarded: the logs folder was at its \[logging\] max_total_bytes cap/,
  );
  await compressFinishedLog(path, folder);
  assert.ok(existsSync(path), "at the cap there is no room to compress: the log stays as it is");
  assert.ok((await countFolder(base)).total <= cap);
  folder.closed(path);

  const roomy = new LogFolder({ base: dir(), retentionDays: 0, maxTotalBytes: 10 * cap });
  await roomy.clean();
  const other = taskLogPath(roomy.base, key);
  const w2 = openTaskLogWriter(other, { maxBytes: 10 * cap, budget: roomy });
  for (let i = 0; i < 20_000; i++) w2.write(`${i} ${line}`, "stdout");
  await w2.close();
  const beforeGzip = roomy.used;
  await compressFinishedLog(other, roomy);
  assert.ok(existsSync(`${other}.gz`) && !existsSync(other));
  assert.ok(
    roomy.used < beforeGzip / 4,
    `compression gives its savings back: ${beforeGzip} -> ${roomy.used}`,
  );
  const counted = (await countFolder(roomy.base)).total;
  assert.ok(Math.abs(roomy.used - counted) <= 2 * BLOCK, `running total ${roomy.used} ~ disk ${counted}`);
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
