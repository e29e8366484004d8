/**
 * Sensors sharing slots (issue 19): 1,000 sensors waiting for one file, on a real `updraft scheduler`
 * with `[core] parallelism = 8` and default settings otherwise (SQLite, task logs written).
 *
 * - baseline: 1,000 empty tasks on the same 8 slots (what running 1,000 task instances costs);
 * - reschedule: 1,000 reschedule-mode sensors; the file appears after --wait seconds. Every sensor
 *   checks meanwhile (they take turns in the 8 slots), none holds a slot while it waits, and all
 *   succeed soon after the file appears;
 * - poke: the same 1,000 sensors in poke mode: 8 take the slots and the other 992 never check.
 *
 * Reported: how many distinct sensors checked before the file appeared, checks per second, the most
 * task instances holding a slot at once (sampled every 50 ms; must stay <= 8), the time from the
 * file to the run's end, and the scheduler's process-group RSS.
 *
 *   npm run bench:sensors [-- --sensors 1000 --slots 8 --wait 20]
 *
 * Results: bench/results/sensors-latest.md and .json.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { triggerDagRun } from "../src/operations/trigger-run.ts";
import { openDatabase } from "../src/storage/database.ts";
import { dagStore } from "../src/storage/dags.ts";
import { startService, updraft, until, type ServiceProcess } from "../src/test-support/service-process.ts";

const { values } = parseArgs({
  options: {
    sensors: { type: "string", default: "1000" },
    slots: { type: "string", default: "8" },
    wait: { type: "string", default: "20" },
  },
});
const N = Number(values.sensors);
const SLOTS = Number(values.slots);
const WAIT_S = Number(values.wait);
const progress = (text: string) =>
  process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${text}\n`);

const home = mkdtempSync(join(tmpdir(), "updraft-bench-sensors-"));
mkdirSync(join(home, "dags"));
const flagOf = (mode: string) => join(home, `${mode}.flag`);
const sensorsDag = (mode: "reschedule" | "poke") => `import { existsSync } from "node:fs";
import { dag, sensor } from "updraft";
export default dag({ dagId: "sensors_${mode}", maxActiveTasks: ${N} }, () => {
  for (let i = 0; i < ${N}; i++)
    sensor("s" + i, () => existsSync(${JSON.stringify(flagOf(mode))}), { mode: "${mode}", pokeInterval: "1s", timeout: "10m" });
});`;
writeFileSync(join(home, "dags", "reschedule.ts"), sensorsDag("reschedule"));
writeFileSync(join(home, "dags", "poke.ts"), sensorsDag("poke"));
writeFileSync(
  join(home, "dags", "plain.ts"),
  `import { dag, empty } from "updraft";
export default dag({ dagId: "plain", maxActiveTasks: ${N} }, () => { for (let i = 0; i < ${N}; i++) empty("e" + i); });`,
);
const env: Record<string, string> = {
  ...(process.env as Record<string, string>),
  UPDRAFT_HOME: home,
  UPDRAFT__CORE__DAGS_FOLDER: join(home, "dags"),
  UPDRAFT__CORE__LOAD_EXAMPLES: "false",
  UPDRAFT__CORE__DAGS_ARE_PAUSED_AT_CREATION: "false",
  UPDRAFT__CORE__PARALLELISM: String(SLOTS),
  UPDRAFT__METRICS__SCHEDULER_PORT: "0",
  UPDRAFT__LOGGING__LEVEL: "warn",
};
const migrated = await updraft(["db", "migrate"], env);
if (migrated.code !== 0) throw new Error(migrated.stderr);
const dbUrl = `sqlite:///${join(home, "updraft.db")}`;
const database = openDatabase(dbUrl);
progress(`starting a scheduler with parallelism ${SLOTS}`);
const scheduler: ServiceProcess = startService(["scheduler"], env);
process.once("exit", () => scheduler.alive() && scheduler.child.kill("SIGKILL"));

/** The resident memory of a process and everything it started (its TaskFlow workers, bash tasks). */
function groupRss(pid: number): number {
  const out = execFileSync("ps", ["-eo", "pid,ppid,rss"], { encoding: "utf8" });
  const rows = out
    .trim()
    .split("\n")
    .slice(1)
    .map((l) => l.trim().split(/\s+/).map(Number) as [number, number, number]);
  const inGroup = new Set([pid]);
  for (let grew = true; grew;) {
    grew = false;
    for (const [p, parent] of rows)
      if (inGroup.has(parent) && !inGroup.has(p)) {
        inGroup.add(p);
        grew = true;
      }
  }
  return rows.filter(([p]) => inGroup.has(p)).reduce((sum, [, , rss]) => sum + rss * 1024, 0);
}

interface Sampled {
  maxHolding: number;
  peakRss: number;
}
/** Samples, every 50 ms until stopped, the task instances holding a slot and the scheduler's RSS. */
function sample(dagId: string) {
  const s: Sampled = { maxHolding: 0, peakRss: 0 };
  let on = true;
  const done = (async () => {
    while (on) {
      const row = await database.db
        .selectFrom("task_instance")
        .select((eb) => eb.fn.countAll().as("n"))
        .where("dag_id", "=", dagId)
        .where("state", "in", ["queued", "running"])
        .executeTakeFirstOrThrow();
      s.maxHolding = Math.max(s.maxHolding, Number(row.n));
      if (scheduler.child.pid) s.peakRss = Math.max(s.peakRss, groupRss(scheduler.child.pid));
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  return {
    stop: async () => {
      on = false;
      await done;
      return s;
    },
  };
}

async function endOf(runId: number, timeoutMs: number): Promise<string> {
  return until(`run ${runId} to end`, timeoutMs, async () => {
    const r = await database.db
      .selectFrom("dag_run")
      .select("state")
      .where("id", "=", runId)
      .executeTakeFirstOrThrow();
    return r.state === "success" || r.state === "failed" ? r.state : undefined;
  });
}

/** Sensors that checked at least once and found nothing: each left a task_reschedule row (or holds a slot now). */
const checkedSensors = async (dagId: string) => {
  const rescheduled = await database.db
    .selectFrom("task_reschedule")
    .select("task_id")
    .distinct()
    .where("dag_id", "=", dagId)
    .execute();
  const holding = await database.db
    .selectFrom("task_instance")
    .select("task_id")
    .where("dag_id", "=", dagId)
    .where("state", "=", "running")
    .execute();
  return new Set([...rescheduled, ...holding].map((r) => r.task_id)).size;
};

await until("the DAGs to be parsed", 120_000, async () =>
  (await dagStore(database).get("sensors_reschedule")) &&
  (await dagStore(database).get("sensors_poke")) &&
  (await dagStore(database).get("plain"))
    ? true
    : undefined,
);

const rows: Record<string, string | number>[] = [];

progress(`baseline: ${N} empty tasks on ${SLOTS} slots`);
{
  const sampler = sample("plain");
  const t0 = performance.now();
  const run = await triggerDagRun(database, { dagId: "plain", runId: "bench_plain" });
  const state = await endOf(run.id, 600_000);
  const seconds = (performance.now() - t0) / 1000;
  const s = await sampler.stop();
  rows.push({
    case: `baseline: ${N} empty tasks`,
    state,
    checkedBefore: "-",
    checksPerSecond: "-",
    maxHolding: s.maxHolding,
    afterFile: `${seconds.toFixed(1)} s (makespan)`,
    rssMb: Math.round(s.peakRss / 1048576),
  });
}

for (const mode of ["reschedule", "poke"] as const) {
  const dagId = `sensors_${mode}`;
  progress(`${mode}: ${N} sensors on ${SLOTS} slots; the file appears after ${WAIT_S} s`);
  const sampler = sample(dagId);
  const run = await triggerDagRun(database, { dagId, runId: `bench_${mode}` });
  await new Promise((r) => setTimeout(r, WAIT_S * 1000));
  const checkedBefore = await checkedSensors(dagId);
  const pokes = await database.db
    .selectFrom("task_reschedule")
    .select((eb) => eb.fn.countAll().as("n"))
    .where("dag_id", "=", dagId)
    .executeTakeFirstOrThrow();
  writeFileSync(flagOf(mode), "ready\n");
  const t0 = performance.now();
  const state = await endOf(run.id, 600_000);
  const afterFile = (performance.now() - t0) / 1000;
  const s = await sampler.stop();
  rows.push({
    case: `${mode}: ${N} sensors`,
    state,
    checkedBefore,
    checksPerSecond: mode === "reschedule" ? Math.round(Number(pokes.n) / WAIT_S) : "-",
    maxHolding: s.maxHolding,
    afterFile: `${afterFile.toFixed(1)} s`,
    rssMb: Math.round(s.peakRss / 1048576),
  });
  progress(
    `${mode}: ${checkedBefore} sensors checked before the file; ${state} ${afterFile.toFixed(1)} s after it`,
  );
}
await scheduler.stop();

const resched = rows.find((r) => String(r.case).startsWith("reschedule"))!;
const verdicts = [
  `every reschedule-mode sensor checked while the file was missing (${resched.checkedBefore} of ${N}): ${resched.checkedBefore === N ? "met" : "NOT met"}`,
  `slots held at once never passed ${SLOTS} (most seen: ${resched.maxHolding}): ${Number(resched.maxHolding) <= SLOTS ? "met" : "NOT met"}`,
];
const md = [
  `# Sensors sharing slots`,
  ``,
  `- Command: \`npm run bench:sensors -- --sensors ${N} --slots ${SLOTS} --wait ${WAIT_S}\``,
  `- Date: ${new Date().toISOString()}; machine: ${cpus().length} cores (${cpus()[0]?.model ?? "?"}), Node ${process.version}`,
  `- One \`updraft scheduler\` process, SQLite, \`[core] parallelism = ${SLOTS}\`, default settings otherwise (task logs written); sensors check every 1 s`,
  ``,
  `| case | run | sensors that checked before the file | checks/s while waiting | most holding a slot | to the end after the file | scheduler RSS (group, peak) |`,
  `|---|---|---|---|---|---|---|`,
  ...rows.map(
    (r) =>
      `| ${r.case} | ${r.state} | ${r.checkedBefore} | ${r.checksPerSecond} | ${r.maxHolding} | ${r.afterFile} | ${r.rssMb} MB |`,
  ),
  ``,
  ...verdicts.map((v) => `- ${v}`),
  ``,
].join("\n");
process.stdout.write(`\n${md}`);
const dir = join(import.meta.dirname, "results");
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, "sensors-latest.md"), md);
writeFileSync(join(dir, "sensors-latest.json"), JSON.stringify({ N, SLOTS, WAIT_S, rows }, null, 2) + "\n");
await database.close();
rmSync(home, { recursive: true, force: true });
