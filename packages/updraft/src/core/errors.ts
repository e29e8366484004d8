/**
 * Typed, coded errors. Every error Updraft raises on purpose is an UpdraftError with a stable `code`;
 * the CLI maps codes to exit codes and the API (later) maps them to HTTP statuses, each in one place.
 */
export type ErrorCode =
  | "DAG_DEFINITION"
  | "DAG_IMPORT"
  | "CONFIG_INVALID"
  | "DATABASE_URL_INVALID"
  | "DATABASE_UNREACHABLE"
  | "NOT_FOUND"
  | "ALREADY_EXISTS"
  | "CONFLICT"
  | "INVALID_INPUT"
  | "CONNECTION_URI_INVALID"
  | "SECRET_DECRYPT_FAILED"
  | "LOG_REFUSED";

export class UpdraftError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "UpdraftError";
    this.code = code;
  }
}

/**
 * A DAG file describes something Updraft cannot run: a cycle, a duplicate id, a bad cron, ... One
 * error may list several problems (every misspelled option of a DAG at once); `problems` has each.
 */
export class DagDefinitionError extends UpdraftError {
  readonly dagId: string | undefined;
  readonly taskId: string | undefined;
  readonly problems: readonly string[];
  constructor(
    message: string,
    where: { dagId?: string; taskId?: string; problems?: readonly string[] } = {},
  ) {
    super("DAG_DEFINITION", message);
    this.name = "DagDefinitionError";
    this.dagId = where.dagId;
    this.taskId = where.taskId;
    this.problems = where.problems ?? [message];
  }
}

export class NotFoundError extends UpdraftError {
  constructor(message: string) {
    super("NOT_FOUND", message);
    this.name = "NotFoundError";
  }
}

export class InvalidInputError extends UpdraftError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("INVALID_INPUT", message, options);
    this.name = "InvalidInputError";
  }
}

/** The request cannot be applied to things as they are now (already in that state, moved meanwhile). */
export class ConflictError extends UpdraftError {
  constructor(message: string) {
    super("CONFLICT", message);
    this.name = "ConflictError";
  }
}
