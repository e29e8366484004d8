/**
 * Type-checking DAG files with the TypeScript compiler API, as data: which files were checked and
 * each diagnostic's file, line, column and message. Used in process by `updraft dags check` and, in a
 * short-lived child (type-check-worker.ts), by the DAG processor when `[dag_processor] type_check` is
 * on. See ADR P5 in ADR.md.
 *
 * The options mirror how Updraft loads DAG files (Node's type stripping, ESM), unless the project has
 * a tsconfig.json of its own; either way "updraft" means the running package, as at run time (P2).
 */
import { existsSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, parse as parsePath, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { UpdraftError } from "../core/errors.ts";
import { discoverDagFiles } from "./discover.ts";
import type { TypeCheckResult, TypeDiagnostic } from "./type-diagnostics.ts";

export { formatTypeDiagnostic, type TypeCheckResult, type TypeDiagnostic } from "./type-diagnostics.ts";

/** The package root: src/dag-processing or dist/dag-processing -> ../../ */
const PACKAGE_ROOT = fileURLToPath(new URL("../../", import.meta.url));
const TYPE_CHECKED_EXTENSIONS = [".ts", ".mts", ".cts"];
const JS_EXTENSIONS = [".js", ".mjs", ".cjs"];

/** Where "updraft" resolves for the checker: the built declarations, or the sources when not built. */
export function updraftTypesEntry(): string {
  const built = join(PACKAGE_ROOT, "dist", "index.d.ts");
  return existsSync(built) ? built : join(PACKAGE_ROOT, "src", "index.ts");
}

/** The files a check covers: files as given, folders walked as the processor walks the DAGs folder. */
export function typeCheckTargets(paths: string[]): string[] {
  const files = new Set<string>();
  for (const path of paths.map((p) => resolve(p))) {
    if (!existsSync(path))
      throw new UpdraftError("NOT_FOUND", `${path} does not exist: give DAG files or folders`);
    if (!statSync(path).isDirectory()) {
      files.add(path);
      continue;
    }
    for (const file of discoverDagFiles({ dagsFolder: path, includeExamples: false, safeMode: false }))
      files.add(file.path);
  }
  return [...files].sort();
}

/**
 * Checks `files` (absolute paths) with the tsconfig.json nearest above `projectDir`, or the defaults.
 * Diagnostics cover the given files and any other user file they import (not node_modules, not
 * Updraft's own sources).
 */
export function typeCheck(files: string[], projectDir: string): TypeCheckResult {
  const started = performance.now();
  const { options, configFile, configErrors } = compilerOptions(projectDir);
  const roots = files.filter((f) => checkable(f, options));
  const program = ts.createProgram({ rootNames: roots, options, host: compilerHost(options) });
  const found = [...configErrors, ...program.getOptionsDiagnostics(), ...program.getGlobalDiagnostics()];
  for (const sourceFile of program.getSourceFiles()) {
    if (!isUserFile(sourceFile)) continue;
    found.push(...program.getSyntacticDiagnostics(sourceFile), ...program.getSemanticDiagnostics(sourceFile));
  }
  const diagnostics = found.filter((d) => d.category === ts.DiagnosticCategory.Error).map(toData);
  diagnostics.sort(
    (a, b) => (a.path ?? "").localeCompare(b.path ?? "") || a.line - b.line || a.column - b.column,
  );
  return { checked: roots, diagnostics, configFile, durationMs: performance.now() - started };
}

function compilerOptions(projectDir: string): {
  options: ts.CompilerOptions;
  configFile: string | null;
  configErrors: ts.Diagnostic[];
} {
  const configFile = ts.findConfigFile(projectDir, ts.sys.fileExists, "tsconfig.json") ?? null;
  let options: ts.CompilerOptions = defaultOptions(projectDir);
  let configErrors: ts.Diagnostic[] = [];
  if (configFile) {
    const read = ts.readConfigFile(configFile, ts.sys.readFile);
    const parsed = ts.parseJsonConfigFileContent(read.config ?? {}, ts.sys, dirname(configFile));
    options = parsed.options;
    // "No inputs were found" is about the tsconfig's own include list, which a check does not use.
    configErrors = [...(read.error ? [read.error] : []), ...parsed.errors].filter((e) => e.code !== 18003);
  }
  const entry = updraftTypesEntry();
  // Whatever the project says, "updraft" is the running package (as the module hook makes it at run
  // time); "updraft-orchestrator" is its name on npm.
  options.paths = { ...options.paths, updraft: [entry], "updraft-orchestrator": [entry] };
  options.noEmit = true;
  if (entry.endsWith(".ts") && !entry.endsWith(".d.ts")) options.allowImportingTsExtensions = true;
  return { options, configFile, configErrors };
}

function defaultOptions(projectDir: string): ts.CompilerOptions {
  const options: ts.CompilerOptions = {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ESNext,
    // Node has no DOM; without it the check also takes ~80 MiB and a few hundred ms less.
    lib: ["lib.esnext.d.ts"],
    strict: true,
    noEmit: true,
    allowImportingTsExtensions: true,
    erasableSyntaxOnly: true,
    verbatimModuleSyntax: true,
    skipLibCheck: true,
    types: [],
  };
  const nodeTypes = resolveNodeTypes(projectDir);
  if (nodeTypes) {
    options.types = ["node"];
    options.typeRoots = [dirname(nodeTypes)];
  }
  return options;
}

/** The @types folder holding @types/node: the project's own first, else the one beside Updraft. */
function resolveNodeTypes(projectDir: string): string | null {
  for (const from of [join(projectDir, "noop.js"), join(PACKAGE_ROOT, "package.json")]) {
    try {
      return dirname(createRequire(from).resolve("@types/node/package.json"));
    } catch {
      // not there; try the next place
    }
  }
  return null;
}

/**
 * Node loads a .ts file with import/export as an ES module unless its package.json says
 * "type": "commonjs" (syntax detection); TypeScript would call it CommonJS whenever no package.json
 * says "module". So the checker sees "type": "module" in user package.json files that set no type,
 * and a package.json with only that at the filesystem root when a DAG folder has none at all.
 */
function compilerHost(options: ts.CompilerOptions): ts.CompilerHost {
  const host = ts.createCompilerHost(options, true);
  const { fileExists, readFile } = host;
  const isUserPackageJson = (f: string) =>
    /(^|[/\\])package\.json$/.test(f) && !/[/\\]node_modules[/\\]/.test(f);
  const isVirtualRoot = (f: string) =>
    f === join(parsePath(resolve(f)).root, "package.json") && !fileExists.call(host, f);
  host.fileExists = (f) => fileExists.call(host, f) || isVirtualRoot(f);
  host.readFile = (f) => {
    if (isVirtualRoot(f)) return '{"type":"module"}';
    const text = readFile.call(host, f);
    if (text === undefined || !isUserPackageJson(f)) return text;
    try {
      const json = JSON.parse(text) as Record<string, unknown>;
      return json.type === undefined ? JSON.stringify({ ...json, type: "module" }) : text;
    } catch {
      return text;
    }
  };
  return host;
}

function checkable(file: string, options: ts.CompilerOptions): boolean {
  if (file.endsWith(".d.ts")) return false;
  if (TYPE_CHECKED_EXTENSIONS.some((e) => file.endsWith(e))) return true;
  return Boolean(options.allowJs && options.checkJs) && JS_EXTENSIONS.some((e) => file.endsWith(e));
}

function isUserFile(sourceFile: ts.SourceFile): boolean {
  const path = resolve(sourceFile.fileName);
  return (
    !sourceFile.isDeclarationFile &&
    !path.split(sep).includes("node_modules") &&
    !path.startsWith(resolve(PACKAGE_ROOT, "src") + sep)
  );
}

function toData(diagnostic: ts.Diagnostic): TypeDiagnostic {
  const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n");
  if (!diagnostic.file || diagnostic.start === undefined)
    return {
      path: diagnostic.file ? resolve(diagnostic.file.fileName) : null,
      line: 1,
      column: 1,
      message,
      code: diagnostic.code,
    };
  const { line, character } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
  return {
    path: resolve(diagnostic.file.fileName),
    line: line + 1,
    column: character + 1,
    message,
    code: diagnostic.code,
  };
}
