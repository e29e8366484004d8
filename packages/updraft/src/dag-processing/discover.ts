/**
 * Finding DAG files: every .ts/.mts/.js/.mjs file under the DAGs folder (and the bundled examples),
 * minus what `.updraftignore` files exclude. Safe mode skips files that mention neither "updraft"
 * nor "dag", as Airflow does, so helper modules cost nothing.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";

export const DAG_FILE_EXTENSIONS = [".ts", ".mts", ".js", ".mjs"];
/** fileloc prefix for the example DAGs that ship with Updraft. */
export const EXAMPLES_PREFIX = "@examples/";

export interface DagFile {
  /** Absolute path. */
  path: string;
  /** As stored: relative to the DAGs folder, or @examples/<name>. */
  fileloc: string;
  contentHash: string;
  source: string;
}

export function examplesFolder(): string {
  // src/dag-processing or dist/dag-processing -> the package root's examples/dags.
  return fileURLToPath(new URL("../../examples/dags/", import.meta.url));
}

export function discoverDagFiles(options: {
  dagsFolder: string;
  includeExamples: boolean;
  safeMode: boolean;
}): DagFile[] {
  const files: DagFile[] = [];
  const roots: [string, (path: string) => string][] = [
    [options.dagsFolder, (p) => toPosix(relative(options.dagsFolder, p))],
  ];
  if (options.includeExamples)
    roots.push([examplesFolder(), (p) => EXAMPLES_PREFIX + toPosix(relative(examplesFolder(), p))]);
  for (const [root, toFileloc] of roots) {
    if (!existsSync(root)) continue;
    for (const path of walk(root, [])) {
      const source = readFileSync(path, "utf8");
      if (options.safeMode && !mightDefineDags(source)) continue;
      files.push({
        path,
        fileloc: toFileloc(path),
        source,
        contentHash: createHash("sha256").update(source).digest("hex"),
      });
    }
  }
  return files.sort((a, b) => a.fileloc.localeCompare(b.fileloc));
}

export function resolveFileloc(fileloc: string, dagsFolder: string): string {
  return fileloc.startsWith(EXAMPLES_PREFIX)
    ? join(examplesFolder(), fileloc.slice(EXAMPLES_PREFIX.length))
    : join(dagsFolder, fileloc);
}

function mightDefineDags(source: string): boolean {
  const lower = source.toLowerCase();
  return lower.includes("updraft") && lower.includes("dag");
}

/** `.updraftignore`: one regular expression per line, matched against paths relative to its folder. */
function ignorePatterns(dir: string, inherited: RegExp[]): RegExp[] {
  const file = join(dir, ".updraftignore");
  if (!existsSync(file)) return inherited;
  const own = readFileSync(file, "utf8")
    .split("\n")
    .map((l) => l.replace(/#.*/, "").trim())
    .filter(Boolean)
    .map((l) => new RegExp(l));
  return [...inherited, ...own];
}

function walk(dir: string, inherited: RegExp[], root = dir): string[] {
  const patterns = ignorePatterns(dir, inherited);
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith(".") || entry.name === "node_modules") continue;
    const path = join(dir, entry.name);
    if (patterns.some((p) => p.test(toPosix(relative(root, path))))) continue;
    if (entry.isDirectory()) out.push(...walk(path, patterns, root));
    else if (
      entry.isFile() &&
      DAG_FILE_EXTENSIONS.some((ext) => entry.name.endsWith(ext)) &&
      !entry.name.endsWith(".d.ts")
    ) {
      out.push(path);
    }
  }
  return out;
}

function toPosix(path: string): string {
  return path.split(sep).join("/");
}
