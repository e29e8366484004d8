/**
 * What the chaos test measures, computed from the markers file (see workload.ts), the kills and the
 * final task-instance states. Pure: lines in, figures out (measure.test.ts feeds it made-up lines).
 */
import type { Caps } from "./workload.ts";

export interface Try {
  dag: string;
  run: string;
  task: string;
  try: number;
  pid: number;
  owner: string;
  start: number;
  /** Last marker of any kind: the try ran at least until then. */
  last: number;
  /** Its work ran to its end (an `end` marker), or it ended by a planned failure (`fail`). */
  ended: "end" | "fail" | null;
}

export interface KillEvent {
  at: number;
  owner: string;
}

export interface FinalState {
  dag: string;
  run: string;
  task: string;
  state: string;
  tryNumber: number;
}

export interface Figures {
  tries: number;
  /** Task instances (try + pid pairs) that started the same try number in two processes. */
  triesStartedTwice: number;
  /** Task instances whose work ran to its end in two or more tries. */
  commandsEndedTwice: number;
  /** Up to 50 of them ("dag run task"), to look up in the markers and logs. */
  endedTwiceExamples: string[];
  /** Sum over task instances of the time two of its tries ran at once, in seconds. */
  overlapSeconds: number;
  recovery: {
    /** Seconds from a kill to the next try of each task instance the kill orphaned. */
    samples: number[];
    p50: number | null;
    p99: number | null;
    max: number | null;
    /** Orphaned tries whose task instance never started again (censored: counted to the end). */
    neverRecovered: number;
    /** Orphaned tries that ran on and whose own result was kept (no new try was needed). */
    keptByOrphan: number;
    /**
     * Per kill that orphaned work, seconds until the first of its orphans ran again: how fast the
     * death was noticed, less the wait of later orphans behind the caps.
     */
    takeover: { samples: number[]; p50: number | null; max: number | null };
  };
  caps: CapFigures;
}

export interface CapViolation {
  cap: string;
  limit: number;
  /** Most running at once. */
  peak: number;
  /** Times the count went above the limit. */
  episodes: number;
  /** Seconds spent above the limit. */
  seconds: number;
}

export interface CapFigures {
  violations: number;
  detail: CapViolation[];
}

const key = (t: { dag: string; run: string; task: string }) => `${t.dag} ${t.run} ${t.task}`;

/** Parses marker lines into tries (one per task instance, try number and pid). Bad lines are skipped. */
export function parseMarkers(text: string): Try[] {
  const tries = new Map<string, Try>();
  for (const line of text.split("\n")) {
    const f = line.trim().split(" ");
    if (f.length < 7) continue;
    const [kind, dag, run, task, tryText, pidText, msText, owner] = f as [string, ...string[]];
    const at = Number(msText);
    if (!Number.isFinite(at)) continue;
    const id = `${dag} ${run} ${task} ${tryText} ${pidText}`;
    let t = tries.get(id);
    if (!t) {
      t = {
        dag: dag!,
        run: run!,
        task: task!,
        try: Number(tryText),
        pid: Number(pidText),
        owner: owner ?? "-",
        start: Infinity,
        last: 0,
        ended: null,
      };
      tries.set(id, t);
    }
    if (kind === "start") t.start = Math.min(t.start, at);
    t.last = Math.max(t.last, at);
    if (kind === "end" || kind === "fail") t.ended = kind;
  }
  // A try whose start line is missing (it cannot be, short of a torn file) starts at its first line.
  return [...tries.values()].map((t) => (Number.isFinite(t.start) ? t : { ...t, start: t.last }));
}

export function measure(
  tries: Try[],
  kills: KillEvent[],
  final: FinalState[],
  caps: Caps,
  endedAt: number,
): Figures {
  const byTi = groupBy(tries, key);
  let startedTwice = 0;
  let endedTwice = 0;
  const endedTwiceExamples: string[] = [];
  let overlapMs = 0;
  for (const list of byTi.values()) {
    const perTry = groupBy(list, (t) => String(t.try));
    if ([...perTry.values()].some((l) => l.length > 1)) startedTwice++;
    if (list.filter((t) => t.ended === "end").length > 1) {
      endedTwice++;
      if (endedTwiceExamples.length < 50) endedTwiceExamples.push(key(list[0]!));
    }
    overlapMs += pairwiseOverlap(list);
  }
  return {
    tries: tries.length,
    triesStartedTwice: startedTwice,
    commandsEndedTwice: endedTwice,
    endedTwiceExamples,
    overlapSeconds: overlapMs / 1000,
    recovery: recovery(byTi, kills, final, endedAt),
    caps: capViolations(tries, caps),
  };
}

function groupBy<T>(items: T[], keyOf: (item: T) => string): Map<string, T[]> {
  const map = new Map<string, T[]>();
  for (const item of items) {
    const k = keyOf(item);
    const list = map.get(k);
    if (list) list.push(item);
    else map.set(k, [item]);
  }
  return map;
}

/** Time two tries of one task instance ran at once, summed over every pair. */
function pairwiseOverlap(list: Try[]): number {
  let total = 0;
  for (let i = 0; i < list.length; i++)
    for (let j = i + 1; j < list.length; j++) {
      const a = list[i]!;
      const b = list[j]!;
      total += Math.max(0, Math.min(a.last, b.last) - Math.max(a.start, b.start));
    }
  return total;
}

/** A try counts as running at `at` if it had started and wrote a line within a tick's slack after. */
const TICK_SLACK_MS = 250;

function recovery(byTi: Map<string, Try[]>, kills: KillEvent[], final: FinalState[], endedAt: number) {
  const finalByTi = new Map(final.map((f) => [key(f), f]));
  const samples: number[] = [];
  let neverRecovered = 0;
  let keptByOrphan = 0;
  const firstPerKill: number[] = [];
  for (const kill of kills) {
    const before = samples.length;
    for (const list of byTi.values()) {
      const orphan = list.find(
        (t) =>
          t.owner === kill.owner && t.start <= kill.at && (t.last >= kill.at - TICK_SLACK_MS || !t.ended),
      );
      if (!orphan || (orphan.ended && orphan.last < kill.at)) continue;
      const next = list
        .filter((t) => t !== orphan && t.start > kill.at && t.try >= orphan.try)
        .sort((a, b) => a.start - b.start)[0];
      if (next) {
        samples.push((next.start - kill.at) / 1000);
        continue;
      }
      const f = finalByTi.get(key(orphan));
      if (orphan.ended && f?.state === "success" && f.tryNumber === orphan.try) keptByOrphan++;
      else {
        neverRecovered++;
        samples.push((endedAt - kill.at) / 1000);
      }
    }
    if (samples.length > before) firstPerKill.push(Math.min(...samples.slice(before)));
  }
  const sorted = [...samples].sort((a, b) => a - b);
  const takeover = [...firstPerKill].sort((a, b) => a - b);
  return {
    samples: sorted,
    p50: quantile(sorted, 0.5),
    p99: quantile(sorted, 0.99),
    max: sorted.length ? sorted[sorted.length - 1]! : null,
    neverRecovered,
    keptByOrphan,
    takeover: { samples: takeover, p50: quantile(takeover, 0.5), max: takeover.at(-1) ?? null },
  };
}

/** Nearest-rank quantile of sorted values. */
export function quantile(sorted: number[], q: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

/**
 * Sweeps every try's interval (start .. last line) and checks, at each instant, the pool's slots,
 * each DAG's maxActiveTasks, the serial DAG's one active run, and parallelism.
 */
export function capViolations(tries: Try[], caps: Caps): CapFigures {
  const checks: { cap: string; limit: number; counts: (running: Try[]) => number }[] = [
    {
      cap: `pool ${caps.pool.name}`,
      limit: caps.pool.slots,
      counts: (r) => r.filter((t) => t.task.startsWith("pooled_")).length,
    },
    ...Object.entries(caps.maxActiveTasks).map(([dag, limit]) => ({
      cap: `maxActiveTasks ${dag}`,
      limit,
      counts: (r: Try[]) => r.filter((t) => t.dag === dag).length,
    })),
    {
      cap: `maxActiveRuns ${caps.serialDag}`,
      limit: 1,
      counts: (r) => new Set(r.filter((t) => t.dag === caps.serialDag).map((t) => t.run)).size,
    },
    { cap: "parallelism", limit: caps.parallelism, counts: (r) => r.length },
  ];
  const detail = checks.map((c) => ({ cap: c.cap, limit: c.limit, peak: 0, episodes: 0, seconds: 0 }));
  // A try seen at one instant only (killed before its first tick) ran no measurable time; its end
  // would sort before its start and leave it "running" for ever.
  const events = tries
    .filter((t) => t.last > t.start)
    .flatMap((t) => [
      { at: t.start, t, on: true },
      { at: t.last, t, on: false },
    ]);
  // Ends before starts at the same millisecond: a try that ended as another began did not overlap it.
  events.sort((a, b) => a.at - b.at || Number(a.on) - Number(b.on));
  const running = new Set<Try>();
  const above = detail.map(() => false);
  let previous = events[0]?.at ?? 0;
  for (const e of events) {
    const list = [...running];
    checks.forEach((c, i) => {
      if (above[i]) detail[i]!.seconds += (e.at - previous) / 1000;
      const n = c.counts(list);
      detail[i]!.peak = Math.max(detail[i]!.peak, n);
    });
    if (e.on) running.add(e.t);
    else running.delete(e.t);
    const now = [...running];
    checks.forEach((c, i) => {
      const over = c.counts(now) > c.limit;
      if (over && !above[i]) detail[i]!.episodes++;
      above[i] = over;
      detail[i]!.peak = Math.max(detail[i]!.peak, c.counts(now));
    });
    previous = e.at;
  }
  return { violations: detail.reduce((n, d) => n + d.episodes, 0), detail };
}
