/** The one place errors become CLI output and exit codes. */
import { UpdraftError, type ErrorCode } from "../core/errors.ts";

const EXIT_CODES: Record<ErrorCode, number> = {
  DAG_DEFINITION: 1,
  DAG_IMPORT: 1,
  INVALID_INPUT: 2,
  CONFIG_INVALID: 3,
  DATABASE_URL_INVALID: 3,
  DATABASE_UNREACHABLE: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  CONFLICT: 7,
  CONNECTION_URI_INVALID: 2,
  SECRET_DECRYPT_FAILED: 3,
  LOG_REFUSED: 3,
};

export function exitCodeFor(error: unknown): number {
  if (error instanceof UpdraftError) return EXIT_CODES[error.code];
  if (
    error &&
    typeof error === "object" &&
    "code" in error &&
    typeof error.code === "string" &&
    error.code.endsWith("INVALID")
  )
    return 2;
  return 1;
}

export function reportError(error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`Error: ${message}\n`);
  if (process.env.UPDRAFT_DEBUG && error instanceof Error && error.stack)
    process.stderr.write(`${error.stack}\n`);
}
