/**
 * Logs with levels: a stamped try log gives every line its time and stream (stdout, stderr, the
 * runner's own), the API reads a level from each (the keyword in the text, else error for stderr and
 * info otherwise), and a log written before lines were stamped still reads, line for line.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { toMessage } from "../api/routes/task-logs.ts";
import { Masker } from "./masker.ts";
import { openTaskLogWriter } from "./writer.ts";

const TIME = /^\[\d{4}-\d\d-\d\dT[\d:.]+Z\] /;

test("a stamped log has a time and a stream on every line; the echo stays bare", async () => {
  const path = join(mkdtempSync(join(tmpdir(), "updraft-levels-")), "a.log");
  const echoed: string[] = [];
  const w = openTaskLogWriter(path, {
    maxBytes: 1e6,
    masker: new Masker().add("hunter2"),
    stamp: true,
    echo: (text) => echoed.push(text),
  });
  w.write("INFO starting with hunter2\nplain words\n", "stdout");
  w.write("boom\nWARNING careful\n", "stderr");
  w.write("runner says hi\n", "runner");
  w.write("unfinished", "stderr");
  await w.close();
  const lines = readFileSync(path, "utf8").trimEnd().split("\n");
  assert.equal(lines.length, 6);
  for (const line of lines) assert.match(line, TIME, `every line has its time: ${line}`);
  assert.match(lines[0]!, /\{stdout\} INFO starting with \*\*\*$/, "masked as before");
  assert.match(lines[2]!, /\{stderr\} boom$/);
  assert.match(lines[5]!, /\{stderr\} unfinished$/, "the last line without a newline too");
  assert.ok(!echoed.join("").includes("{stdout}"), "what is echoed (dags test) is the bare text");
  assert.ok(echoed.join("").includes("plain words\n"));

  const messages = lines.map(toMessage);
  assert.deepEqual(
    messages.map((m) => [m.logger, m.level, m.event]),
    [
      ["stdout", "info", "INFO starting with ***"],
      ["stdout", "info", "plain words"],
      ["stderr", "error", "boom"],
      ["stderr", "warning", "WARNING careful"],
      ["updraft", "info", "runner says hi"],
      ["stderr", "error", "unfinished"],
    ],
  );
  assert.ok(messages.every((m) => m.timestamp && !Number.isNaN(Date.parse(m.timestamp))));
});

test("a log from before stamping reads as it is, levels from its keywords", () => {
  assert.deepEqual(toMessage("ERROR: the disk is full"), {
    event: "ERROR: the disk is full",
    level: "error",
  });
  assert.deepEqual(toMessage("all good"), { event: "all good", level: "info" });
  assert.equal(toMessage("2024-01-01 12:00:00 DEBUG tracing").level, "debug");
  assert.equal(toMessage("[2024-01-01T00:00:00.000Z] {updraft} CRITICAL stop").level, "critical");
});
