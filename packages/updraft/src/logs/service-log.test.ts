import assert from "node:assert/strict";
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { rotateServiceLog } from "./service-log.ts";

test("a service's log rotates by size and count while the service keeps writing to its descriptor", async () => {
  const file = join(mkdtempSync(join(tmpdir(), "updraft-svclog-")), "scheduler.log");
  // As a detached service: one appending descriptor for its whole life.
  const fd = openSync(file, "a", 0o600);
  const o = { maxBytes: 1000, backups: 2 };
  try {
    for (let round = 1; round <= 4; round++) {
      writeSync(fd, `round ${round}\n`.repeat(200));
      assert.equal(await rotateServiceLog(file, o), true, `round ${round} is past the size`);
      assert.equal(readFileSync(file, "utf8"), "", "the live file starts again empty");
    }
    writeSync(fd, "after\n");
    assert.equal(readFileSync(file, "utf8"), "after\n", "the service's descriptor writes at the new start");
    assert.equal(await rotateServiceLog(file, o), false, "under the size: left alone");
    assert.match(readFileSync(`${file}.1`, "utf8"), /^round 4\n/);
    assert.match(readFileSync(`${file}.2`, "utf8"), /^round 3\n/);
    assert.equal(existsSync(`${file}.3`), false, "only `backups` copies are kept");
    assert.equal(await rotateServiceLog(file, { maxBytes: 0, backups: 2 }), false, "0: never rotated");
  } finally {
    closeSync(fd);
  }
});
