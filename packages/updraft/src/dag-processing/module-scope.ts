/**
 * DAG files are ES modules. A .ts or .js file whose nearest package.json says "type": "commonjs"
 * (what `npm init -y` writes) is loaded by Node as CommonJS, and every import statement in it fails.
 * Instead of one baffling error per file, such files are not loaded and their package.json gets one
 * import error that names it and the fix.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, relative, sep } from "node:path";
import type { DagFile } from "./discover.ts";

/** A package.json that makes DAG files CommonJS, as the processor stores it: a file with an import error. */
export interface CommonJsScope {
  fileloc: string;
  contentHash: string;
  message: string;
  /** The DAG files it affects (not loaded while it stays). */
  files: DagFile[];
}

export function splitByModuleScope(
  files: DagFile[],
  dagsFolder: string,
): { loadable: DagFile[]; commonJs: CommonJsScope[] } {
  const typeOf = new Map<string, string | null>();
  const blocked = new Map<string, DagFile[]>();
  const loadable: DagFile[] = [];
  for (const file of files) {
    const scope = /\.m(ts|js)$/.test(file.path) ? null : commonJsPackageJson(dirname(file.path), typeOf);
    if (scope === null) loadable.push(file);
    else blocked.set(scope, [...(blocked.get(scope) ?? []), file]);
  }
  const commonJs = [...blocked].map(([packageJson, affected]) => describe(packageJson, affected, dagsFolder));
  return { loadable, commonJs };
}

/** The nearest package.json up from `dir`, when it declares "type": "commonjs"; else null. */
function commonJsPackageJson(dir: string, cache: Map<string, string | null>): string | null {
  const cached = cache.get(dir);
  if (cached !== undefined) return cached;
  const file = join(dir, "package.json");
  let found: string | null;
  if (existsSync(file)) found = readType(file) === "commonjs" ? file : null;
  else found = dirname(dir) === dir ? null : commonJsPackageJson(dirname(dir), cache);
  cache.set(dir, found);
  return found;
}

function readType(file: string): unknown {
  try {
    return (JSON.parse(readFileSync(file, "utf8")) as { type?: unknown }).type;
  } catch {
    return undefined; // Node reports a malformed package.json itself, per file.
  }
}

function describe(packageJson: string, affected: DagFile[], dagsFolder: string): CommonJsScope {
  const names = affected.map((f) => f.fileloc);
  const shown = names.slice(0, 5).join(", ") + (names.length > 5 ? `, and ${names.length - 5} more` : "");
  const message =
    `${packageJson} declares "type": "commonjs", so Node would load the ${names.length} DAG file(s) under ` +
    `${dirname(packageJson)} (${shown}) as CommonJS, where import statements fail ("Cannot use import ` +
    `statement outside a module"). DAG files are ES modules: set "type": "module" in that package.json ` +
    `(run \`npm pkg set type=module\` in ${dirname(packageJson)}), or name the files .mts. They are not ` +
    "loaded until then.";
  const source = readFileSync(packageJson, "utf8");
  return {
    fileloc: relative(dagsFolder, packageJson).split(sep).join("/"),
    contentHash: createHash("sha256").update(source).update(names.join("\n")).digest("hex"),
    message,
    files: affected,
  };
}
