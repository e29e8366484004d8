/**
 * A type check's result as data, and the `file:line:col: message` form users see. Kept apart from
 * type-check.ts so that what only reads results (the processor) does not load TypeScript.
 */
import { isAbsolute, relative, sep } from "node:path";

export interface TypeDiagnostic {
  /** Absolute path, or null for a diagnostic about the options (a bad tsconfig.json). */
  path: string | null;
  /** 1-based. */
  line: number;
  /** 1-based. */
  column: number;
  message: string;
  /** TypeScript's error number (2339 for TS2339). */
  code: number;
}

export interface TypeCheckResult {
  /** Absolute paths of the files given to the checker. */
  checked: string[];
  /** Errors only, in file then position order. */
  diagnostics: TypeDiagnostic[];
  /** The tsconfig.json used, or null for Updraft's defaults. */
  configFile: string | null;
  durationMs: number;
}

/** `file:line:col: message`, the file relative to the first of `bases` that holds it (else absolute). */
export function formatTypeDiagnostic(diagnostic: TypeDiagnostic, ...bases: string[]): string {
  if (!diagnostic.path) return diagnostic.message;
  return `${shownPath(diagnostic.path, bases)}:${diagnostic.line}:${diagnostic.column}: ${diagnostic.message}`;
}

function shownPath(path: string, bases: string[]): string {
  for (const base of bases) {
    const rel = relative(base, path);
    if (rel && !rel.startsWith("..") && !isAbsolute(rel)) return rel.split(sep).join("/");
  }
  return path;
}
