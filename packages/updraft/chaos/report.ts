/**
 * The chaos test's verdict: one row per measure, one column per database, each cell the figure and
 * PASS or FAIL against the issue's targets (lost 0, started twice 0, ended twice 0, overlap 0 s,
 * recovery p99 < 2 s, cap violations 0). Other rows inform and have no target.
 */
import type { Figures } from "./measure.ts";

export interface DatabaseResult {
  database: string;
  chaosSeconds: number;
  wallSeconds: number;
  kills: {
    pid: number;
    group: number;
    list: { at: number; slot: number; owner: string; pid: number; mode: string }[];
  };
  databaseRestart: { at: number; downSeconds: number; mode: string } | null;
  taskInstances: number;
  lost: number;
  lostByState: Record<string, number>;
  runs: { total: number; unfinished: number };
  figures: Figures;
  schedulerExits: { owner: string; code: number | null; signal: string | null; at: number }[];
  leftoverProcesses: { pid: number; command: string }[];
  shutdown: { owner: string; code: number | null; cleanly: boolean }[];
  setupNotes: string[];
  homes: { home: string; schedulerLogs: string[]; markers: string; databaseLog: string };
}

interface Row {
  measure: string;
  target: string;
  cell: (r: DatabaseResult) => string;
  pass?: (r: DatabaseResult) => boolean;
}

const s = (n: number | null) => (n === null ? "-" : `${n.toFixed(2)} s`);

const ROWS: Row[] = [
  { measure: "chaos phase / whole run", target: "", cell: (r) => `${r.chaosSeconds} s / ${r.wallSeconds} s` },
  {
    measure: "kills (pid / group)",
    target: "",
    cell: (r) => `${r.kills.pid + r.kills.group} (${r.kills.pid} / ${r.kills.group})`,
  },
  {
    measure: "database restart",
    target: "",
    cell: (r) =>
      r.databaseRestart ? `${r.databaseRestart.mode}, ${r.databaseRestart.downSeconds} s down` : "none",
  },
  { measure: "task instances", target: "", cell: (r) => `${r.taskInstances} (${r.figures.tries} tries)` },
  {
    measure: "lost (not success at the end)",
    target: "0",
    cell: (r) => `${r.lost}${r.runs.unfinished ? ` (${r.runs.unfinished} runs unfinished)` : ""}`,
    pass: (r) => r.lost === 0,
  },
  {
    measure: "tries started twice",
    target: "0",
    cell: (r) => String(r.figures.triesStartedTwice),
    pass: (r) => r.figures.triesStartedTwice === 0,
  },
  {
    measure: "commands ended twice",
    target: "0",
    cell: (r) => String(r.figures.commandsEndedTwice),
    pass: (r) => r.figures.commandsEndedTwice === 0,
  },
  {
    measure: "overlap of two tries",
    target: "0 s",
    cell: (r) => `${r.figures.overlapSeconds.toFixed(1)} s`,
    pass: (r) => r.figures.overlapSeconds === 0,
  },
  {
    measure: "recovery p50 / p99 / max",
    target: "p99 < 2 s",
    cell: (r) => {
      const x = r.figures.recovery;
      const never = x.neverRecovered ? `, ${x.neverRecovered} never` : "";
      return `${s(x.p50)} / ${s(x.p99)} / ${s(x.max)} (n=${x.samples.length}${never})`;
    },
    pass: (r) => (r.figures.recovery.p99 ?? 0) < 2 && r.figures.recovery.neverRecovered === 0,
  },
  {
    measure: "takeover p50 / max (first orphan of a kill)",
    target: "",
    cell: (r) => {
      const t = r.figures.recovery.takeover;
      return `${s(t.p50)} / ${s(t.max)} (${t.samples.length} kills)`;
    },
  },
  {
    measure: "cap violations",
    target: "0",
    cell: (r) => {
      const bad = r.figures.caps.detail.filter((d) => d.episodes > 0);
      const why = bad.map((d) => `${d.cap} ${d.episodes}x, peak ${d.peak}/${d.limit}`).join("; ");
      return `${r.figures.caps.violations}${why ? ` (${why})` : ""}`;
    },
    pass: (r) => r.figures.caps.violations === 0,
  },
  { measure: "scheduler crashes (restarted)", target: "", cell: (r) => String(r.schedulerExits.length) },
  { measure: "task processes left at the end", target: "", cell: (r) => String(r.leftoverProcesses.length) },
];

export function passed(r: DatabaseResult): boolean {
  return ROWS.every((row) => !row.pass || row.pass(r));
}

/**
 * The safety invariants alone: nothing lost, no try started twice, no overlap, no cap exceeded, no
 * scheduler crash, no process left. What CI gates on (`--gate safety`): the timing targets (recovery
 * p99, a command ending in the tens of milliseconds between a kill and its reaper) move with the
 * machine's load and are reported, not gated.
 */
export function safe(r: DatabaseResult): boolean {
  const f = r.figures;
  return (
    r.lost === 0 &&
    f.triesStartedTwice === 0 &&
    f.overlapSeconds === 0 &&
    f.caps.violations === 0 &&
    r.schedulerExits.length === 0 &&
    r.leftoverProcesses.length === 0
  );
}

export function table(results: DatabaseResult[]): string {
  const header = ["measure", "target", ...results.map((r) => r.database)];
  const lines = ROWS.map((row) => [
    row.measure,
    row.target,
    ...results.map((r) => (row.pass ? `${row.cell(r)}  ${row.pass(r) ? "PASS" : "FAIL"}` : row.cell(r))),
  ]);
  lines.push(["verdict", "all PASS", ...results.map((r) => (passed(r) ? "PASS" : "FAIL"))]);
  const widths = header.map((_, i) => Math.max(...[header, ...lines].map((l) => l[i]!.length)));
  const fmt = (l: string[]) => l.map((c, i) => c.padEnd(widths[i]!)).join(" | ");
  return [fmt(header), widths.map((w) => "-".repeat(w)).join("-|-"), ...lines.map(fmt)].join("\n");
}
