/**
 * The chaos test (issue 12's proof), run as an operator would: 3 real `updraft scheduler` processes
 * on a private PostgreSQL or MariaDB server, a DAG of several hundred bash and TypeScript tasks,
 * kill -9 of a random scheduler (its pid or its whole process group, alternately) every 5 s with an
 * immediate restart, then one database restart while runs are still going. Prints what was lost,
 * run twice or overlapped, how fast orphaned work ran again, and whether any cap was exceeded.
 *
 *   npm run chaos [-- --db postgres|mysql|both] [--duration 120] [--short] [--strict] [--gate safety]
 *                    [--db-stop fast|immediate] [--db-down 5] [--kill-every 5] [--seed n]
 *
 * See docs/ha.md ("The chaos test") for how to read the table.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import {
  startPrivateMariaDb,
  startPrivatePostgres,
  type PrivateDatabase,
  type StopMode,
} from "./databases.ts";
import { BIN, cli, Fleet, killLeftovers, processesOf, type Kill } from "./fleet.ts";
import { measure, parseMarkers } from "./measure.ts";
import { describeSnapshot, finalStates, snapshot } from "./observe.ts";
import { passed, safe, table, type DatabaseResult } from "./report.ts";
import { CAPS, MAIN_DAG, SERIAL_DAG, writeWorkload } from "./workload.ts";

const { values } = parseArgs({
  options: {
    db: { type: "string" },
    duration: { type: "string" },
    short: { type: "boolean", default: false },
    strict: { type: "boolean", default: false },
    gate: { type: "string" },
    schedulers: { type: "string", default: "3" },
    "kill-every": { type: "string", default: "5" },
    "db-down": { type: "string", default: "5" },
    "db-stop": { type: "string", default: "fast" },
    settle: { type: "string" },
    results: { type: "string" },
    seed: { type: "string" },
    executor: { type: "string", default: "local" },
    workers: { type: "string", default: "2" },
  },
});

const short = values.short;
const OPTIONS = {
  databases: databases(values.db ?? (short ? "postgres" : "both")),
  chaosSeconds: Number(values.duration ?? (short ? 60 : 120)),
  schedulers: Number(values.schedulers),
  killEverySeconds: Number(values["kill-every"]),
  dbDownSeconds: Number(values["db-down"]),
  dbStop: stopMode(values["db-stop"]),
  /** After the chaos phase and the database restart: how long the runs may take to finish. */
  settleSeconds: Number(values.settle ?? (short ? 180 : 300)),
  seed: Number(values.seed ?? Date.now() % 100000),
  /** bullmq: tasks run on `updraft worker`s (killed too), through Redis and a webserver. */
  executor: values.executor === "bullmq" ? ("bullmq" as const) : ("local" as const),
  workers: values.executor === "bullmq" ? Number(values.workers) : 0,
};

function stopMode(mode: string): StopMode {
  if (mode === "fast" || mode === "immediate") return mode;
  throw new Error(`--db-stop takes fast or immediate, not ${mode}`);
}

function databases(db: string): ("postgres" | "mysql")[] {
  if (db === "both") return ["postgres", "mysql"];
  if (db === "postgres" || db === "mysql") return [db];
  throw new Error(`--db takes postgres, mysql or both, not ${db}`);
}

const started = Date.now();
const say = (line: string) => console.log(`[chaos +${((Date.now() - started) / 1000).toFixed(1)}s] ${line}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A small seeded generator: a run can be replayed with --seed. */
function random(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    // mulberry32
    x = (x + 0x6d2b79f5) >>> 0;
    let t = Math.imul(x ^ (x >>> 15), 1 | x);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function chaosRun(kind: "postgres" | "mysql"): Promise<DatabaseResult> {
  say(`=== ${kind}: starting a private server (the shared one is never restarted)`);
  const db: PrivateDatabase =
    kind === "postgres" ? await startPrivatePostgres() : await startPrivateMariaDb();
  say(`${kind} at ${db.url} (server log ${db.logFile})`);
  const home = mkdtempSync(join(tmpdir(), `updraft-chaos-${kind}-`));
  cleanup = async () => {
    killLeftovers(home);
    await db.stop();
  };
  const dags = join(home, "dags");
  const serviceLogs = join(home, "service-logs");
  mkdirSync(dags);
  mkdirSync(serviceLogs);
  const markers = join(home, "markers.log");
  writeFileSync(markers, "");
  writeWorkload(dags, home, markers);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    UPDRAFT_HOME: home,
    UPDRAFT__DATABASE__URL: db.url,
    UPDRAFT__CORE__LOAD_EXAMPLES: "false",
    UPDRAFT__CORE__DAGS_ARE_PAUSED_AT_CREATION: "false",
    UPDRAFT__CORE__PARALLELISM: String(CAPS.parallelism),
    UPDRAFT__SCHEDULER__TASKFLOW_WORKERS: "4",
    UPDRAFT__METRICS__SCHEDULER_PORT: "0",
    UPDRAFT__LOGGING__COMPRESS_FINISHED: "false",
    ...(OPTIONS.executor === "bullmq"
      ? {
          UPDRAFT__CORE__EXECUTOR: "bullmq",
          UPDRAFT__BULLMQ__REDIS_URL: process.env.UPDRAFT_CHAOS_REDIS_URL ?? "redis://127.0.0.1:6379",
          UPDRAFT__BULLMQ__KEY_PREFIX: `chaos${Date.now().toString(36)}`,
        }
      : {}),
  };
  const cliLog = join(serviceLogs, "cli.log");
  const notes: string[] = [];
  const must = async (args: string[], tries = 1) => {
    for (let i = 1; i <= tries; i++) {
      const r = await cli(env, cliLog, args);
      if (r.ok) return;
      const note = `updraft ${args.join(" ")} failed (try ${i}/${tries}): ${r.output.trim().split("\n").slice(-3).join(" / ")}`;
      notes.push(note);
      say(note);
    }
    throw new Error(`updraft ${args.join(" ")} kept failing; see ${cliLog}`);
  };
  say(`home ${home}; scheduler logs ${serviceLogs}/scheduler-N.log; markers ${markers}`);
  await must(["db", "migrate"]);
  await must(["pools", "set", CAPS.pool.name, String(CAPS.pool.slots)], 3);
  await must(["dags", "list"], 3);

  const fleet = new Fleet(env, serviceLogs);
  fleet.start(OPTIONS.schedulers);
  say(`started ${OPTIONS.schedulers} schedulers: pids ${fleet.pids().join(", ")}`);
  const workers = OPTIONS.executor === "bullmq" ? await startWorkers(env, home, serviceLogs) : null;

  const triggers: Promise<void>[] = [];
  let runNo = 0;
  const trigger = (dagId: string) => {
    const n = ++runNo;
    const runId = `${dagId}_${n}`;
    const logical = new Date(Date.UTC(2025, 0, 1) + n * 60_000).toISOString();
    triggers.push(
      cli(env, cliLog, ["dags", "trigger", dagId, "-r", runId, "-l", logical]).then((r) =>
        say(r.ok ? `triggered ${runId}` : `trigger ${runId} FAILED: ${r.output.trim().split("\n").pop()}`),
      ),
    );
  };
  // Main runs spread over the chaos phase, the last at its end, so the database restart hits a run.
  const mainRuns = Math.max(2, Math.round(OPTIONS.chaosSeconds / 60) + 1);
  const mainAt = Array.from({ length: mainRuns }, (_, i) => (i * OPTIONS.chaosSeconds) / (mainRuns - 1));
  for (let i = 0; i < 3; i++) trigger(SERIAL_DAG);
  trigger(MAIN_DAG);
  mainAt.shift();
  // The first runs exist before the first kill (the CLI takes seconds to start on a busy machine).
  await Promise.all(triggers);

  const rand = random(OPTIONS.seed);
  const kills: Kill[] = [];
  const chaosStart = Date.now();
  const elapsed = () => (Date.now() - chaosStart) / 1000;
  let nextKill = OPTIONS.killEverySeconds;
  let nextProgress = 0;
  let nextSerial = 20;
  while (elapsed() < OPTIONS.chaosSeconds || mainAt.length > 0) {
    if (mainAt.length > 0 && elapsed() >= mainAt[0]!) {
      mainAt.shift();
      trigger(MAIN_DAG);
    }
    if (elapsed() >= nextSerial && elapsed() < OPTIONS.chaosSeconds) {
      nextSerial += 20;
      trigger(SERIAL_DAG);
    }
    if (elapsed() >= nextKill && elapsed() < OPTIONS.chaosSeconds) {
      nextKill += OPTIONS.killEverySeconds;
      // Schedulers and workers alike (with the bullmq executor): any process may die.
      const pick = Math.floor(rand() * (OPTIONS.schedulers + OPTIONS.workers));
      const [target, slot] =
        pick < OPTIONS.schedulers ? [fleet, pick + 1] : [workers!.fleet, pick - OPTIONS.schedulers + 1];
      const k = target.killAndRestart(slot, kills.length % 2 === 0 ? "pid" : "group");
      kills.push(k);
      say(
        `kill -9 ${k.mode === "group" ? `-${k.pid} (process group)` : k.pid} = ${target === fleet ? "scheduler" : "worker"} ${k.owner}; restarted`,
      );
    }
    if (elapsed() >= nextProgress) {
      nextProgress += 10;
      await progress(db.url, markers);
    }
    await sleep(100);
  }
  await Promise.all(triggers);
  say(`chaos phase over after ${elapsed().toFixed(0)} s: ${kills.length} kills`);

  // One database restart while the last main run is going.
  await sleep(3000);
  const restartAt = Date.now();
  await db.restart(OPTIONS.dbDownSeconds, OPTIONS.dbStop, say);
  say(`${kind} is back; waiting up to ${OPTIONS.settleSeconds} s for every run to finish`);

  const settleUntil = Date.now() + OPTIONS.settleSeconds * 1000;
  let finished = false;
  while (Date.now() < settleUntil) {
    await sleep(5000);
    const snap = await progress(db.url, markers);
    if (snap && snap.runs.every((r) => r.state === "success" || r.state === "failed")) {
      finished = true;
      break;
    }
  }
  say(
    finished
      ? "every run finished"
      : `runs still unfinished after ${OPTIONS.settleSeconds} s: counted as lost`,
  );
  const endedAt = Date.now();
  const shutdown = [...(await fleet.stop(30)), ...((await workers?.fleet.stop(30)) ?? [])];
  await workers?.stop();
  say(
    `schedulers stopped (SIGTERM): ${shutdown.map((s) => `${s.owner} exit ${s.code}${s.cleanly ? "" : " (not clean)"}`).join(", ")}`,
  );
  await sleep(500);
  const leftovers = processesOf(home);
  if (leftovers.length)
    say(`${leftovers.length} processes of this test outlived their schedulers; killing them`);
  killLeftovers(home);

  const final = await finalStates(db.url);
  await db.stop();
  cleanup = null;
  const tries = parseMarkers(readFileSync(markers, "utf8"));
  const figures = measure(tries, kills, final.tis, CAPS, endedAt);
  const notSuccess = final.tis.filter((t) => t.state !== "success");
  const lostByState: Record<string, number> = {};
  for (const t of notSuccess) lostByState[t.state] = (lostByState[t.state] ?? 0) + 1;
  return {
    database: kind === "postgres" ? "PostgreSQL" : "MariaDB",
    chaosSeconds: OPTIONS.chaosSeconds,
    wallSeconds: Math.round((Date.now() - chaosStart) / 1000),
    kills: {
      pid: kills.filter((k) => k.mode === "pid").length,
      group: kills.filter((k) => k.mode === "group").length,
      list: kills,
    },
    databaseRestart: { at: restartAt, downSeconds: OPTIONS.dbDownSeconds, mode: OPTIONS.dbStop },
    taskInstances: final.tis.length,
    lost: notSuccess.length,
    lostByState,
    runs: {
      total: final.runs.length,
      unfinished: final.runs.filter((r) => r.state !== "success" && r.state !== "failed").length,
    },
    figures,
    schedulerExits: [...fleet.unexpectedExits, ...(workers?.fleet.unexpectedExits ?? [])],
    leftoverProcesses: leftovers,
    shutdown,
    setupNotes: notes,
    homes: {
      home,
      schedulerLogs: Array.from({ length: OPTIONS.schedulers }, (_, i) => fleet.logFile(i + 1)),
      markers,
      databaseLog: db.logFile,
    },
  };
}

/**
 * The bullmq executor's side: one webserver (the Task Execution API; not killed) and the worker
 * fleet, each worker with a home of its own under <home>/worker-N holding no database URL and no key,
 * on this machine's Redis under a prefix of this run's own (the shared Redis is never restarted).
 */
async function startWorkers(env: NodeJS.ProcessEnv, home: string, logs: string) {
  const { createServer } = await import("node:net");
  const port = await new Promise<number>((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port: p } = server.address() as { port: number };
      server.close(() => resolve(p));
    });
  });
  const webLog = join(logs, "webserver.log");
  const { spawn } = await import("node:child_process");
  const { openSync, closeSync } = await import("node:fs");
  const fd = openSync(webLog, "a");
  const web = spawn(process.execPath, [BIN, "webserver", "--port", String(port)], {
    env,
    detached: true,
    stdio: ["ignore", fd, fd],
  });
  closeSync(fd);
  const workerHome = join(home, "worker-1");
  mkdirSync(workerHome);
  const workerEnv: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("UPDRAFT")) workerEnv[k] = v;
  Object.assign(workerEnv, {
    UPDRAFT_HOME: workerHome,
    UPDRAFT__CORE__DAGS_FOLDER: join(home, "dags"),
    UPDRAFT__CORE__EXECUTION_API_SERVER_URL: `http://127.0.0.1:${port}/execution/`,
    UPDRAFT__BULLMQ__REDIS_URL: env.UPDRAFT__BULLMQ__REDIS_URL,
    UPDRAFT__BULLMQ__KEY_PREFIX: env.UPDRAFT__BULLMQ__KEY_PREFIX,
    UPDRAFT__SCHEDULER__TASKFLOW_WORKERS: "4",
    UPDRAFT__LOGGING__COMPRESS_FINISHED: "false",
  });
  const fleet = new Fleet(workerEnv, logs, "worker");
  fleet.start(OPTIONS.workers);
  say(`started a webserver (port ${port}) and ${OPTIONS.workers} workers: pids ${fleet.pids().join(", ")}`);
  return {
    fleet,
    stop: async () => {
      web.kill("SIGTERM");
      await sleep(1000);
    },
  };
}

async function progress(url: string, markers: string) {
  const lines = readFileSync(markers, "utf8").split("\n").length - 1;
  try {
    const snap = await snapshot(url);
    say(`${describeSnapshot(snap)} | ${lines} marker lines`);
    return snap;
  } catch (error) {
    say(`database unreachable (${(error as Error).message}) | ${lines} marker lines`);
    return null;
  }
}

if (!existsSync(new URL("../dist/cli/main.js", import.meta.url))) {
  console.error(`The chaos test runs the built CLI (${BIN}): run \`npm run build\` first.`);
  process.exit(2);
}
say(`options: ${JSON.stringify(OPTIONS)}`);
const results: DatabaseResult[] = [];
// Ctrl-C or a failure: no scheduler, task or private database server is left behind.
let cleanup: (() => Promise<void>) | null = null;
const stopNow = async (why: string, code: number) => {
  console.error(`chaos test stopped: ${why}; cleaning up`);
  await cleanup?.().catch(() => undefined);
  process.exit(code);
};
process.once("SIGINT", () => void stopNow("SIGINT", 130));
process.once("SIGTERM", () => void stopNow("SIGTERM", 143));
try {
  for (const kind of OPTIONS.databases) results.push(await chaosRun(kind));
} catch (error) {
  await stopNow((error as Error).stack ?? String(error), 2);
}
const file =
  values.results ??
  join(tmpdir(), `updraft-chaos-results-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
writeFileSync(file, JSON.stringify({ options: OPTIONS, caps: CAPS, results }, null, 2));
console.log(`\n${table(results)}\n`);
for (const r of results)
  console.log(
    `${r.database}: scheduler logs ${r.homes.schedulerLogs.join(", ")}; markers ${r.homes.markers}`,
  );
console.log(`results (JSON): ${file}`);
const ok = results.every(passed);
if (!ok && values.strict) process.exit(1);
if (values.gate === "safety" && !results.every(safe)) {
  console.error("chaos: a safety invariant was broken (lost, started twice, overlap, caps, crash, leftover)");
  process.exit(1);
}
