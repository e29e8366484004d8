/**
 * `updraft init [dir]` (and `standalone` on a new home): writes a DAGs project that is itself the DAGs
 * folder: package.json ("type": "module", the SDK as the dependency "updraft"), tsconfig.json matching
 * how DAG files are loaded, an example DAG with a test, .gitignore, .updraftignore and a short README.
 *
 * DAG files import from "updraft". On npm that name belongs to another package, so the project
 * depends on it through an alias, "updraft": "npm:updraft-orchestrator@^x.y.z": editors and tsc
 * resolve node_modules/updraft to our types, and at run time a module hook maps "updraft" to the
 * running package anyway (dag-processing/module-hooks.ts), so the two can never disagree.
 */
import { cpSync, existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import { basename, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { InvalidInputError } from "../core/errors.ts";
import { VERSION } from "../version.ts";

/** The name this package is published under on npm. */
export const NPM_PACKAGE_NAME = "updraft-orchestrator";

/** This package's root folder (works from src/ and dist/). */
export const PACKAGE_ROOT = fileURLToPath(new URL("../../", import.meta.url));

const TEMPLATE = fileURLToPath(new URL("../../templates/dags-project/", import.meta.url));

/** Template files whose names npm would drop or act on when publishing, and their real names. */
const RENAMED: Record<string, string> = { gitignore: ".gitignore", updraftignore: ".updraftignore" };

/** Entries an "empty" folder may already hold. */
const TOLERATED = new Set([".git", ".DS_Store"]);

export interface InitProjectOptions {
  dir: string;
  /** The dependency spec for "updraft"; default: see defaultSdkSpec(). */
  sdk?: string;
}

export interface InitProjectResult {
  dir: string;
  files: string[];
  /** node_modules/updraft was linked to the running package (so editors resolve it before `npm install`). */
  linked: boolean;
  sdk: string;
}

export function initDagsProject(options: InitProjectOptions): InitProjectResult {
  const dir = resolve(options.dir);
  assertNewOrEmpty(dir);
  mkdirSync(dir, { recursive: true });
  const sdk = options.sdk ?? defaultSdkSpec();
  const files: string[] = [];
  for (const entry of readdirSync(TEMPLATE, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const from = join(entry.parentPath, entry.name);
    const name = relative(TEMPLATE, from);
    const to = join(dir, RENAMED[name] ?? name);
    mkdirSync(join(to, ".."), { recursive: true });
    cpSync(from, to);
    files.push(relative(dir, to).split(sep).join("/"));
  }
  writeFileSync(join(dir, "package.json"), `${JSON.stringify(packageJson(dir, sdk), null, 2)}\n`);
  files.push("package.json");
  return { dir, files: files.sort(), linked: linkSdk(dir), sdk };
}

/**
 * Installed from the registry, the project depends on the same version from the registry; run from
 * a clone (not published), on this very folder.
 */
export function defaultSdkSpec(): string {
  return PACKAGE_ROOT.split(sep).includes("node_modules")
    ? `npm:${NPM_PACKAGE_NAME}@^${VERSION}`
    : `file:${PACKAGE_ROOT.replace(/[\\/]$/, "")}`;
}

function packageJson(dir: string, sdk: string): Record<string, unknown> {
  return {
    name: npmName(basename(dir)),
    private: true,
    type: "module",
    description: "Updraft DAGs: every .ts file here is a DAG file.",
    engines: { node: ">=22.18" },
    scripts: { check: "updraft dags check .", test: "node --test" },
    dependencies: { updraft: sdk },
  };
}

function npmName(folder: string): string {
  const name = folder
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, "-")
    .replace(/^[._-]+|-+$/g, "");
  return name === "" || name === "node_modules" ? "dags" : name;
}

function assertNewOrEmpty(dir: string): void {
  if (!existsSync(dir)) return;
  let entries: string[];
  try {
    entries = readdirSync(dir).filter((e) => !TOLERATED.has(e));
  } catch {
    throw new InvalidInputError(`${dir} exists and is not a folder; give a new or empty folder.`);
  }
  if (entries.length === 0) return;
  const shown = entries.slice(0, 3).join(", ") + (entries.length > 3 ? ", ..." : "");
  throw new InvalidInputError(
    `${dir} is not empty (${shown}); updraft init writes a new DAGs project into a new or empty folder. ` +
      "Give another folder, or copy the files you need from a project made in an empty one.",
  );
}

/** Links node_modules/updraft to the running package, unless something is there already. */
function linkSdk(dir: string): boolean {
  const target = join(dir, "node_modules", "updraft");
  if (existsSync(target)) return false;
  mkdirSync(join(dir, "node_modules"), { recursive: true });
  try {
    symlinkSync(PACKAGE_ROOT, target, process.platform === "win32" ? "junction" : "dir");
    return true;
  } catch {
    return false; // `npm install` sets it up instead.
  }
}
