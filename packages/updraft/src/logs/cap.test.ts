/**
 * The logs folder under its cap, as an operator would see it: a real `updraft scheduler` runs tasks
 * that write far faster than a 4 MiB cap allows, while the folder's real disk use (allocated blocks,
 * folders included: `du -s -B1`) is sampled every 100 ms. It never passes the cap; a running try's log
 * survives every clean; a service's log in the same folder is untouched; an old log goes at start.
 * SQLite only: which database holds the runs does not change how logs are written and cleaned.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { promisify } from "node:util";
import { triggerDagRun } from "../operations/trigger-run.ts";
import { dagStore } from "../storage/dags.ts";
import { childUrl, forEachDatabase } from "../test-support/databases.ts";
import {
  assertBuilt,
  startService,
  until,
  updraftHome,
  type ServiceProcess,
} from "../test-support/service-process.ts";
import { readTaskLog, taskLogPath } from "./files.ts";

const run = promisify(execFile);
const CAP = 4 * 1024 * 1024;
const WRITERS = 16;
const RUNS = 4;

assertBuilt();

/**
 * The folder's disk use as the disk reports it. A folder the scheduler deletes while du walks makes
 * du say so and exit 1, with the total of what it found: that total counts.
 */
async function du(folder: string): Promise<number> {
  const { stdout } = await run("du", ["-s", "-B1", folder]).catch(
    (error: { stdout?: string; stderr?: string }) => {
      const vanished = (error.stderr ?? "")
        .trim()
        .split("\n")
        .every((line) => /No such file or directory/.test(line));
      if (!vanished || !error.stdout) throw error;
      return { stdout: error.stdout };
    },
  );
  return Number(stdout.split("\t")[0]);
}

forEachDatabase(
  "the logs folder under its cap",
  (get) => {
    const services: ServiceProcess[] = [];
    const homes: { remove(): void }[] = [];
    after(async () => {
      for (const s of services) await s.stop(5_000);
      for (const h of homes) h.remove();
    });

    test("tasks writing 4x faster than the cap allows never take the folder past it (du every 100 ms)", async () => {
      const database = get();
      const home = updraftHome(childUrl(database), {
        UPDRAFT__CORE__DAGS_ARE_PAUSED_AT_CREATION: "false",
        UPDRAFT__LOGGING__MAX_TOTAL_BYTES: String(CAP),
        UPDRAFT__LOGGING__MAX_BYTES_PER_TRY: String(CAP / 4),
        UPDRAFT__LOGGING__RETENTION_DAYS: "30",
      });
      homes.push(home);
      const logs = join(home.home, "logs");
      mkdirSync(logs, { recursive: true, mode: 0o700 });
      // A service's own log (`--daemon`'s default place) and a log past retention, there before the start.
      const serviceLog = join(logs, "scheduler.log");
      writeFileSync(serviceLog, "a service's own log line\n".repeat(2000));
      const old = taskLogPath(logs, {
        dag_id: "old",
        run_id: "r",
        task_id: "t",
        map_index: -1,
        try_number: 1,
      });
      mkdirSync(join(old, ".."), { recursive: true });
      writeFileSync(old, "old\n");
      const longAgo = (Date.now() - 40 * 86_400_000) / 1000;
      utimesSync(old, longAgo, longAgo);
      // Each writer prints 600 KB of hardly compressible text at once; the slow one a line every 100 ms.
      const writers = Array.from(
        { length: WRITERS },
        (_, i) => `bash("w${i}", { command: "head -c 450000 /dev/urandom | base64" });`,
      ).join("\n  ");
      writeFileSync(
        join(home.dags, "flood.ts"),
        `import { dag, bash } from "updraft";
export default dag({ dagId: "flood", maxActiveRuns: ${RUNS} }, () => {
  ${writers}
});`,
      );
      writeFileSync(
        join(home.dags, "steady.ts"),
        `import { dag, bash } from "updraft";
export default dag({ dagId: "steady" }, () => {
  bash("slow", { command: "for i in $(seq 1 150); do echo steady line $i; sleep 0.1; done" });
});`,
      );

      const scheduler = startService(["scheduler"], home.env);
      services.push(scheduler);
      await until("the DAGs to be parsed", 60_000, async () =>
        (await dagStore(database).get("flood")) && (await dagStore(database).get("steady"))
          ? true
          : undefined,
      );
      assert.equal(existsSync(old), false, "a log past retention is deleted at start");

      const steady = taskLogPath(logs, {
        dag_id: "steady",
        run_id: "steady",
        task_id: "slow",
        map_index: -1,
        try_number: 1,
      });
      const samples: number[] = [];
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          samples.push(await du(logs));
          await new Promise((r) => setTimeout(r, 100));
        }
      })();
      await triggerDagRun(database, { dagId: "steady", runId: "steady" });
      // Its first lines are on disk before the flood (a try's first output is held briefly: task-log.ts).
      await until("the steady try's log to begin", 30_000, async () =>
        /steady line 1\n/.test(readTaskLog(steady) ?? "") ? true : undefined,
      );
      for (let r = 0; r < RUNS; r++) await triggerDagRun(database, { dagId: "flood", runId: `flood_${r}` });
      await until("every run to finish", 120_000, async () => {
        const runs = await database.db
          .selectFrom("dag_run")
          .select(["state"])
          .where("state", "in", ["queued", "running"])
          .execute();
        return runs.length === 0 ? true : undefined;
      });
      sampling = false;
      await sampler;

      const written = WRITERS * RUNS * 600_000;
      const peak = Math.max(...samples);
      console.log(
        `# ${samples.length} samples of du; peak ${peak} bytes, cap ${CAP}; ${written} bytes of task output`,
      );
      assert.ok(samples.length > 20, "the folder was sampled throughout");
      assert.ok(written > 4 * CAP, "the tasks wrote far more than the cap");
      assert.ok(peak <= CAP, `the folder's disk use peaked at ${peak} bytes, over the ${CAP} cap`);
      const cleaned = scheduler.lines.filter((l) => /task logs deleted/.test(l.msg));
      assert.ok(cleaned.length > 0, "the scheduler said what it deleted");

      const text = readTaskLog(steady) ?? "";
      assert.match(text, /steady line 1\n/, "the running try's log kept its beginning through every clean");
      assert.match(text, /steady line 150\n/);
      assert.equal(
        readFileSync(serviceLog, "utf8"),
        "a service's own log line\n".repeat(2000),
        "the service's log is untouched",
      );
    });
  },
  { only: ["sqlite"] },
);
