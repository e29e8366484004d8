/** A TypeScript task's whole output reaches its log: console, process.stdout/stderr, and child processes that inherit stdio. */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { triggerDagRun } from "../operations/trigger-run.ts";
import { dagsHome, type DagsHome } from "../test-support/dags-home.ts";

const DAG = `import { execSync } from "node:child_process";
import { dag, task } from "updraft";
const talk = task("talk", () => {
  console.log("from console.log");
  process.stdout.write("from process.stdout\\n");
  process.stderr.write("from process.stderr\\n");
  execSync("echo from a child process; echo child error >&2", { stdio: "inherit" });
  return 1;
});
export default dag({ dagId: "talkative" }, () => {
  talk();
});`;

let h: DagsHome;
before(async () => (h = await dagsHome({ "talkative.ts": DAG })));
after(() => h.close());

test("console, process.stdout/stderr and an inheriting child process all reach the task's log", async () => {
  const run = await triggerDagRun(h.database, { dagId: "talkative" });
  assert.equal(await h.drive(run, 1), "success");
  const text = h.log(run, "talk");
  // Each line as written, after its time and stream (logs/ADR.md L4).
  for (const [stream, line] of [
    ["stdout", "from console.log"],
    ["stdout", "from process.stdout"],
    ["stderr", "from process.stderr"],
    ["stdout", "from a child process"],
    ["stderr", "child error"],
  ])
    assert.match(
      text,
      new RegExp(`^\\[[^\\]]+\\] \\{${stream}\\} ${line}$`, "m"),
      `"${line}" is in the log:\n${text}`,
    );
});
