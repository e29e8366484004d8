/**
 * The comparative benchmark of issue 6: every workload on Updraft (real `updraft scheduler` processes on
 * SQLite, PostgreSQL and MySQL, and the in-process harness) and every
 * peer, one after another in one run, each (peer, workload) in a process of its own.
 *
 *   npm run bench                         all workloads, all peers
 *   npm run bench -- fanout chain         some workloads
 *   npm run bench -- --peers updraft-sqlite,bullmq-redis --reps 5
 *   npm run bench -- --write-docs         regenerate docs/benchmarks.md from results/latest.json
 *   npm run bench -- --no-docs            do not touch docs/benchmarks.md
 */
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { PEERS } from "./peers/index.ts";
import { NOT_MEASURED } from "./published.ts";
import {
  gitCommit,
  machine,
  renderDocs,
  renderTables,
  stat,
  writeResults,
  type BenchResult,
  type Row,
  type WorkloadResult,
} from "./report.ts";
import { PARALLELISM, log } from "./util.ts";
import { SIZES, WORKLOADS, workloadSpec, type WorkloadName, type WorkloadOutcome } from "./workloads.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const RESULTS = fileURLToPath(new URL("../results/", import.meta.url));
const DOCS = `${ROOT}docs/benchmarks.md`;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    reps: { type: "string", default: "3" },
    peers: { type: "string" },
    "write-docs": { type: "boolean", default: false },
    "no-docs": { type: "boolean", default: false },
    timeout: { type: "string", default: "180" },
  },
});

if (values["write-docs"] && positionals.length === 0 && !values.peers) {
  const latest = JSON.parse(readFileSync(`${RESULTS}latest.json`, "utf8")) as BenchResult;
  writeFileSync(DOCS, renderDocs(latest));
  console.log(`docs/benchmarks.md written from results/latest.json (${latest.date}, ${latest.commit})`);
  process.exit(0);
}

const workloads = positionals.length ? (positionals as WorkloadName[]) : WORKLOADS;
for (const w of workloads)
  if (!WORKLOADS.includes(w)) throw new Error(`unknown workload "${w}": one of ${WORKLOADS.join(", ")}`);
const peerKeys = values.peers ? values.peers.split(",") : PEERS.map((p) => p.key);
for (const k of peerKeys)
  if (!PEERS.some((p) => p.key === k))
    throw new Error(`unknown peer "${k}": one of ${PEERS.map((p) => p.key).join(", ")}`);
const reps = Number(values.reps);

interface ChildResult {
  ok: boolean;
  error?: string;
  outcome?: WorkloadOutcome;
  how?: string;
  durable?: boolean;
}

/** One (peer, workload) in a child process; a crash, a hang or a failed setup is a failed row. */
function runChild(peer: string, workload: WorkloadName): Promise<ChildResult> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [
        "--max-semi-space-size=8",
        "--expose-gc",
        fileURLToPath(new URL("./child.ts", import.meta.url)),
        "--peer",
        peer,
        "--workload",
        workload,
        "--reps",
        String(reps),
      ],
      { stdio: ["ignore", "pipe", "inherit"], detached: false },
    );
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(
      () => {
        log(`${peer} ${workload}: no answer after ${values.timeout} s, stopping it`);
        child.kill("SIGKILL");
      },
      Number(values.timeout) * 1000,
    );
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const line = out.split("\n").find((l) => l.startsWith("@@RESULT "));
      if (line) resolve(JSON.parse(line.slice(9)) as ChildResult);
      else
        resolve({
          ok: false,
          error: signal
            ? `killed (${signal}) after ${values.timeout} s`
            : `exited with ${code} and no result`,
        });
    });
  });
}

const started = Date.now();
const results: WorkloadResult[] = [];
for (const name of workloads) {
  const spec = workloadSpec(name, reps);
  const wr: WorkloadResult = { name, title: spec.title, rows: [] };
  results.push(wr);
  for (const key of peerKeys) {
    const entry = PEERS.find((p) => p.key === key)!;
    const t0 = Date.now();
    const r = await runChild(key, name);
    const metrics: Row["metrics"] = {};
    for (const m of r.outcome?.reps ?? []) for (const k of Object.keys(m.values)) metrics[k] ??= stat([]);
    for (const k of Object.keys(metrics))
      metrics[k] = stat((r.outcome?.reps ?? []).map((m) => m.values[k]!).filter((v) => v !== undefined));
    wr.rows.push({
      peer: entry.label,
      backend: entry.backend,
      durable: r.durable ?? false,
      measured: true,
      ok: r.ok,
      error: r.error,
      how: r.how,
      metrics,
      seconds: (Date.now() - t0) / 1000,
    });
    log(
      `${entry.label} (${entry.backend}) ${name}: ${r.ok ? "done" : `FAILED (${r.error})`} in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    );
  }
}

const result: BenchResult = {
  date: new Date().toISOString(),
  commit: gitCommit(ROOT),
  command: `npm run bench${process.argv.length > 2 ? " -- " + process.argv.slice(2).join(" ") : ""}`,
  reps,
  machine: machine(),
  sizes: { ...SIZES, parallelism: PARALLELISM, celeryPrefork: Number(process.env.BENCH_CELERY_PREFORK ?? 8) },
  workloads: results,
  notMeasured: NOT_MEASURED,
  totalSeconds: (Date.now() - started) / 1000,
};
const full = positionals.length === 0 && !values.peers;
const file = writeResults(RESULTS, result, full);
console.log(renderTables(result));
console.log(
  `\nresults: ${file}${full ? " (and results/latest.json)" : ""}; whole run ${result.totalSeconds.toFixed(0)} s`,
);
if (!values["no-docs"] && (full || values["write-docs"])) {
  writeFileSync(DOCS, renderDocs(result));
  console.log("docs/benchmarks.md updated");
} else if (!values["no-docs"])
  console.log("docs/benchmarks.md left alone (partial run; add --write-docs to update it)");
