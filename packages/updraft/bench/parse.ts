/**
 * DAG parsing benchmark: the bundled examples, and N generated DAG files (default 1,000, 10 tasks
 * each), through the real DAG processor (child processes, SQLite). Baseline in the same run: the
 * same files imported in one process with no isolation, which is the floor the processor's safety
 * (time limits, memory limits, crash containment) costs against.
 *
 *   npm run bench:parse [-- --files 1000 --tasks 10]
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { pathToFileURL } from "node:url";
import { loadConfig } from "../src/config/load.ts";
import { processDagFiles } from "../src/dag-processing/processor.ts";
import { discoverDagFiles } from "../src/dag-processing/discover.ts";
import { registerDagModuleHooks } from "../src/dag-processing/module-hooks.ts";
import { BUILTIN_DEFAULTS, isDag } from "../src/sdk/index.ts";
import { openDatabase } from "../src/storage/database.ts";
import { migrateDatabase } from "../src/storage/migrate.ts";

const { values } = parseArgs({
  options: { files: { type: "string", default: "1000" }, tasks: { type: "string", default: "10" } },
});
const FILES = Number(values.files);
const TASKS = Number(values.tasks);

function generate(dir: string): void {
  mkdirSync(dir, { recursive: true });
  for (let i = 0; i < FILES; i++) {
    const body = Array.from(
      { length: TASKS },
      (_, t) =>
        `  const t${t} = bash("t${t}", { command: "echo ${i}.${t} {{ ds }}" });${t ? ` t${t - 1}.before(t${t});` : ""}`,
    );
    writeFileSync(
      join(dir, `gen_${i}.ts`),
      `import { dag, bash } from "updraft";\nexport default dag({ dagId: "gen_${i}", schedule: "@daily", startDate: "2025-01-01", tags: ["bench"] }, () => {\n${body.join("\n")}\n});\n`,
    );
  }
}

async function processorRun(home: string, examples: boolean, force = false) {
  const config = loadConfig({ env: { UPDRAFT_HOME: home, UPDRAFT__CORE__LOAD_EXAMPLES: String(examples) } });
  const database = openDatabase(config.values.database.url);
  await migrateDatabase(database);
  const rssBefore = process.memoryUsage().rss;
  const s = await processDagFiles(config, database, { force });
  await database.close();
  return { ...s, rssDeltaMb: (process.memoryUsage().rss - rssBefore) / 2 ** 20 };
}

async function inProcessBaseline(dagsFolder: string): Promise<{ ms: number; dags: number }> {
  registerDagModuleHooks();
  const started = performance.now();
  let dags = 0;
  for (const file of discoverDagFiles({ dagsFolder, includeExamples: false, safeMode: true })) {
    const mod = (await import(pathToFileURL(file.path).href)) as Record<string, unknown>;
    for (const v of Object.values(mod)) {
      if (!isDag(v)) continue;
      v.serialize({ fileloc: file.fileloc, defaults: BUILTIN_DEFAULTS });
      dags++;
    }
  }
  return { ms: performance.now() - started, dags };
}

const root = mkdtempSync(join(tmpdir(), "updraft-bench-parse-"));
try {
  const rows: [string, string, string, string, string][] = [];
  const fmt = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  const examples = await processorRun(join(root, "examples"), true);
  rows.push([
    "examples, cold (processor)",
    String(examples.files),
    String(examples.dags),
    fmt(examples.durationMs),
    `${(examples.durationMs / Math.max(1, examples.files)).toFixed(1)} ms`,
  ]);
  const home = join(root, "generated");
  generate(join(home, "dags"));
  process.stderr.write(`generated ${FILES} DAG files of ${TASKS} tasks in ${home}/dags\n`);
  const cold = await processorRun(home, false);
  rows.push([
    `${FILES} files, cold (processor)`,
    String(cold.files),
    String(cold.dags),
    fmt(cold.durationMs),
    `${(cold.durationMs / FILES).toFixed(2)} ms`,
  ]);
  const warm = await processorRun(home, false);
  rows.push([
    `${FILES} files, unchanged (processor)`,
    String(warm.files),
    String(warm.parsed),
    fmt(warm.durationMs),
    `${(warm.durationMs / FILES).toFixed(2)} ms`,
  ]);
  const forced = await processorRun(home, false, true);
  rows.push([
    `${FILES} files, reserialize (processor)`,
    String(forced.files),
    String(forced.dags),
    fmt(forced.durationMs),
    `${(forced.durationMs / FILES).toFixed(2)} ms`,
  ]);
  const base = await inProcessBaseline(join(home, "dags"));
  rows.push([
    `${FILES} files, baseline: one process, no isolation, no DB`,
    String(FILES),
    String(base.dags),
    fmt(base.ms),
    `${(base.ms / FILES).toFixed(2)} ms`,
  ]);
  const head = ["case", "files", "dags (or parsed)", "wall time", "per file"] as const;
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) =>
    "| " + cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ") + " |";
  console.log([line(head), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n"));
  console.log(
    `\nparsing_processes=${loadConfig({ env: { UPDRAFT_HOME: home } }).values.dag_processor.parsing_processes}, node ${process.version}, ${(await import("node:os")).cpus().length} cores`,
  );
} finally {
  rmSync(root, { recursive: true, force: true });
}
