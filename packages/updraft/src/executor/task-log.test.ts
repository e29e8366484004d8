/** A try's log file: made after the try's first moments, with nothing of them lost. */
import assert from "node:assert/strict";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { dirname } from "node:path";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { HOLD_BYTES, HOLD_MS, openFileTaskLog, taskLogPath } from "./task-log.ts";
import type { TaskInstanceRow } from "../storage/schema.ts";

const ti = { dag_id: "d", run_id: "r", task_id: "t", map_index: -1, try_number: 1 } as TaskInstanceRow;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function folder() {
  const base = mkdtempSync(join(tmpdir(), "updraft-task-log-"));
  return { base, path: taskLogPath(base, ti), remove: () => rmSync(base, { recursive: true, force: true }) };
}

test("a short try's log is made once, when it ends, with everything it wrote", async () => {
  const f = folder();
  try {
    const log = openFileTaskLog({ base: f.base, maxBytes: 1 << 20, compress: false }, ti);
    log.write("first\n", "runner");
    log.write("out\n", "stdout");
    assert.equal(existsSync(f.path), false, "no file call on the way to the try's start");
    await log.close();
    const text = readFileSync(f.path, "utf8");
    assert.match(text, /\{updraft\} first\n/);
    assert.match(text, /^out$/m);
  } finally {
    f.remove();
  }
});

test("a running try's first lines reach its file within the hold, and a flood opens it at once", async () => {
  const f = folder();
  try {
    const log = openFileTaskLog({ base: f.base, maxBytes: 1 << 20, compress: false }, ti);
    log.write("early\n", "stdout");
    await sleep(HOLD_MS + 200);
    assert.equal(readFileSync(f.path, "utf8"), "early\n", "visible while the try still runs");
    log.write("later\n", "stdout");
    assert.equal(readFileSync(f.path, "utf8"), "early\nlater\n", "written as it comes once open");
    await log.close();

    const other = { ...ti, try_number: 2 };
    const flood = openFileTaskLog({ base: f.base, maxBytes: 1 << 20, compress: false }, other);
    flood.write(`${"x".repeat(HOLD_BYTES)}\n`, "stdout");
    await sleep(50); // well within the hold: the size opened it
    assert.ok(existsSync(taskLogPath(f.base, other)));
    await flood.close();
  } finally {
    f.remove();
  }
});

test("a log that cannot be made drops its output and says why when the try ends", async () => {
  const f = folder();
  // The logs folder is a file: no folder can be made in it, whoever runs the test.
  const base = join(f.base, "not-a-folder");
  writeFileSync(base, "");
  try {
    const log = openFileTaskLog({ base, maxBytes: 1 << 20, compress: false }, ti);
    log.write("lost\n", "stdout");
    await sleep(HOLD_MS + 100);
    log.write("also lost\n", "stdout");
    await assert.rejects(log.close(), /ENOTDIR|EEXIST/);
  } finally {
    f.remove();
  }
});

test("a short try whose file already holds a note appends to it", async () => {
  const f = folder();
  try {
    mkdirSync(dirname(f.path), { recursive: true });
    writeFileSync(f.path, "the try could not start; scheduled again\n");
    const log = openFileTaskLog({ base: f.base, maxBytes: 1 << 20, compress: false }, ti);
    log.write("second chance\n", "stdout");
    await log.close();
    assert.equal(readFileSync(f.path, "utf8"), "the try could not start; scheduled again\nsecond chance\n");
  } finally {
    f.remove();
  }
});

test("a short try's log in a full folder makes no folder and takes nothing", async () => {
  const f = folder();
  let taken = 0;
  const full = {
    opened: () => undefined,
    closed: () => undefined,
    take: (bytes: number) => {
      if (bytes > 0) return false;
      return true;
    },
    give: (bytes: number) => void (taken -= bytes),
  };
  try {
    const log = openFileTaskLog(
      { base: f.base, maxBytes: 1 << 20, compress: false, folder: full as never },
      ti,
    );
    log.write("no room for this\n", "stdout");
    await log.close();
    assert.deepEqual(readdirSync(f.base), [], "its folders were not left behind");
    assert.equal(taken, 0);
  } finally {
    f.remove();
  }
});
