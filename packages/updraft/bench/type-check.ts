/**
 * Type-check benchmark: N generated DAG files (default 200; 3-5 tasks each, TaskFlow and bash,
 * importing "updraft") in a temporary home, timed as real `updraft` processes (the built CLI):
 *
 * - `dags check` of the folder, and of one file (the fixed cost: TypeScript, lib and @types/node);
 * - `dags reserialize` (parse every file, store the DAGs) with [dag_processor] type_check off: the
 *   baseline, and on: the processor's extra cost (its type-check child runs before the parse);
 * - with --compare <path to another updraft bin>, `dags reserialize` by that build too, to show that
 *   parsing with type_check off is as fast as before the option existed.
 *
 * Wall time is the best of --repeat runs; peak RSS is the largest process of the command's tree
 * (GNU time's %M), when /usr/bin/time exists.
 *
 *   npm run bench:type-check [-- --files 200 --repeat 2 --compare /path/to/other/bin/updraft.js]
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { assertBuilt, UPDRAFT_BIN } from "../src/test-support/service-process.ts";

const { values } = parseArgs({
  options: {
    files: { type: "string", default: "200" },
    repeat: { type: "string", default: "2" },
    compare: { type: "string" },
  },
});
const FILES = Number(values.files);
const REPEAT = Number(values.repeat);
const TIME = existsSync("/usr/bin/time") ? "/usr/bin/time" : null;

function dagFile(i: number): string {
  const tasks = 3 + (i % 3); // 3, 4 or 5: extract -> total [-> label] -> report [-> done]
  const body = [
    `  const extract = task("extract", async () => [${i}, 2, 3]);`,
    `  const total = task("total", async (rows: number[]) => rows.reduce((a, b) => a + b, 0));`,
    `  const report = bash("report", { command: "echo ${i} {{ ds }}", env: { RUN: "{{ run_id }}" } });`,
    `  const sum = total(extract());`,
  ];
  if (tasks >= 4)
    body.push(
      `  const label = task("label", async (n: number) => \`total \${n.toFixed(0)}\`);`,
      `  chain(label(sum), report);`,
    );
  else body.push(`  chain(sum, report);`);
  if (tasks === 5) body.push(`  report.before(bash("done", { command: "echo done" }));`);
  return `import { bash, chain, dag, task } from "updraft";

export default dag({ dagId: "gen_${i}", schedule: "@daily", startDate: "2025-01-01", tags: ["bench"] }, () => {
${body.join("\n")}
});
`;
}

interface Measure {
  seconds: number;
  peakMb: number | null;
  code: number | null;
  stdout: string;
  stderr: string;
}

function measure(bin: string, args: string[], env: Record<string, string>): Measure {
  const command = TIME
    ? [TIME, "-f", "__time %e %M", process.execPath, bin, ...args]
    : [process.execPath, bin, ...args];
  const started = performance.now();
  const r = spawnSync(command[0]!, command.slice(1), {
    env: { ...process.env, ...env },
    encoding: "utf8",
    timeout: 600_000,
  });
  const seconds = (performance.now() - started) / 1000;
  const timed = /__time ([\d.]+) (\d+)/.exec(r.stderr);
  return {
    seconds,
    peakMb: timed ? Number(timed[2]) / 1024 : null,
    code: r.status,
    stdout: r.stdout,
    stderr: r.stderr,
  };
}

function best(bin: string, args: string[], env: Record<string, string>, expectCode: number): Measure {
  const runs = Array.from({ length: REPEAT }, () => measure(bin, args, env));
  for (const run of runs)
    if (run.code !== expectCode)
      throw new Error(
        `updraft ${args.join(" ")} exited ${run.code} (expected ${expectCode}):\n${run.stdout}${run.stderr}`,
      );
  return runs.reduce((a, b) => (b.seconds < a.seconds ? b : a));
}

assertBuilt();
const root = mkdtempSync(join(tmpdir(), "updraft-bench-tc-"));
try {
  const dags = join(root, "dags");
  mkdirSync(dags);
  for (let i = 0; i < FILES; i++) writeFileSync(join(dags, `gen_${i}.ts`), dagFile(i));
  const env = {
    UPDRAFT_HOME: root,
    UPDRAFT__CORE__LOAD_EXAMPLES: "false",
    UPDRAFT__LOGGING__LEVEL: "warn",
  };
  const on = { ...env, UPDRAFT__DAG_PROCESSOR__TYPE_CHECK: "true" };
  const off = { ...env, UPDRAFT__DAG_PROCESSOR__TYPE_CHECK: "false" };
  if (measure(UPDRAFT_BIN, ["db", "migrate"], env).code !== 0) throw new Error("db migrate failed");
  process.stderr.write(`generated ${FILES} DAG files in ${dags}; ${REPEAT} run(s) per case\n`);

  const rows: [string, Measure][] = [
    [`dags check (${FILES} files)`, best(UPDRAFT_BIN, ["dags", "check"], env, 0)],
    [`dags check (1 file)`, best(UPDRAFT_BIN, ["dags", "check", join(dags, "gen_0.ts")], env, 0)],
    [`dags reserialize, type_check off (baseline)`, best(UPDRAFT_BIN, ["dags", "reserialize"], off, 0)],
    [`dags reserialize, type_check on`, best(UPDRAFT_BIN, ["dags", "reserialize"], on, 0)],
  ];
  if (values.compare)
    rows.push([
      `dags reserialize by ${values.compare}`,
      best(values.compare, ["dags", "reserialize"], off, 0),
    ]);
  const check = rows[0]![1].stdout.trim().split("\n").at(-1);
  const table = rows.map(([name, m]) => [
    name,
    `${m.seconds.toFixed(2)} s`,
    m.peakMb === null ? "n/a" : `${m.peakMb.toFixed(0)} MiB`,
  ]);
  const head = ["case", "wall time (best)", "peak RSS"];
  const widths = head.map((h, i) => Math.max(h.length, ...table.map((r) => r[i]!.length)));
  const line = (cells: string[]) => "| " + cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ") + " |";
  console.log([line(head), line(widths.map((w) => "-".repeat(w))), ...table.map(line)].join("\n"));
  console.log(`\ndags check said: ${check}`);
} finally {
  rmSync(root, { recursive: true, force: true });
}
