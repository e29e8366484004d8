/**
 * Task logs over the API: one try's log file (live and uncompressed while it runs, gzipped after),
 * as structured JSON messages, NDJSON or plain text, read on from a continuation token.
 */
import { readTaskLog, taskLogPath } from "../../logs/files.ts";
import type { ApiContext } from "../app.ts";
import { badRequest, notFound } from "../errors.ts";
import type { components } from "../generated/airflow-v2.ts";
import { findTi, triesOf } from "./task-instance-view.ts";

type LogMessage = components["schemas"]["StructuredLogMessage"];

/** Where a reader is in a try's log: lines already sent, and whether the try has ended. */
interface LogPosition {
  log_pos: number;
  end_of_log: boolean;
}

const encodeToken = (p: LogPosition) => Buffer.from(JSON.stringify(p)).toString("base64url");

/** The position a token carries; a token that is not one of ours reads from the start. */
function decodeToken(token: string | null | undefined): LogPosition | null {
  if (!token) return null;
  try {
    const p = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as Partial<LogPosition>;
    return Number.isInteger(p.log_pos) && p.log_pos! >= 0
      ? { log_pos: p.log_pos!, end_of_log: Boolean(p.end_of_log) }
      : null;
  } catch {
    return null;
  }
}

/**
 * Stamped lines: `[<ISO time>] {logger} message`, where the logger is `updraft` (the task runner's
 * own lines), `stdout` or `stderr` (the task's output). Logs written before output was stamped have
 * bare lines: read as they are, without a time.
 */
const STAMPED_LINE = /^\[(\d{4}-\d\d-\d\dT[^\]]+)\] \{([^}]+)\} ?(.*)$/;

/** A level keyword in the text (as Python's logging and most loggers print it), first one wins. */
const LEVEL_WORD = /\b(CRITICAL|FATAL|ERROR|WARNING|WARN|INFO|DEBUG)\b/;
const LEVEL_OF: Record<string, string> = {
  CRITICAL: "critical",
  FATAL: "critical",
  ERROR: "error",
  WARNING: "warning",
  WARN: "warning",
  INFO: "info",
  DEBUG: "debug",
};

/**
 * A line's level, as Airflow's structured messages carry it: the keyword in the text, else what its
 * stream implies (Airflow logs a task's stderr at error, its stdout at info).
 */
export function levelOf(event: string, logger: string | undefined): string {
  const word = LEVEL_WORD.exec(event)?.[1];
  if (word) return LEVEL_OF[word]!;
  return logger === "stderr" ? "error" : "info";
}

export function toMessage(line: string): LogMessage {
  const m = STAMPED_LINE.exec(line);
  if (!m) return { event: line, level: levelOf(line, undefined) };
  return { timestamp: m[1]!, event: m[3]!, logger: m[2]!, level: levelOf(m[3]!, m[2]) };
}

/**
 * A line of the plain-text log (the UI's download): a stamped line as Airflow's file log prints one,
 * `[time] {logger} LEVEL - message`; a bare line (a log from before lines were stamped) as it is.
 */
function asText(line: string): string {
  const m = STAMPED_LINE.exec(line);
  if (!m) return line;
  return `[${m[1]}] {${m[2]}} ${levelOf(m[3]!, m[2]).toUpperCase()} - ${m[3]}`;
}

/** A try still writing its log: it is the live try and has not ended. */
const WRITING = new Set(["queued", "running", "deferred", "up_for_reschedule", "restarting"]);

export function registerTaskLogRoutes(ctx: ApiContext): void {
  const { database } = ctx;

  ctx.route("get_log", async ({ params, query, raw, reply }) => {
    const live = await findTi(database, {
      dagId: params.dag_id,
      runId: params.dag_run_id,
      taskId: params.task_id,
      mapIndex: query.map_index ?? -1,
    });
    const attempt = live && (await triesOf(database, live)).find((t) => t.try_number === params.try_number);
    if (!live || !attempt) throw notFound("TaskInstance not found");
    const ended = !(live.try_number === params.try_number && WRITING.has(live.state ?? ""));
    const path = taskLogPath(ctx.config.values.logging.base_log_folder, {
      dag_id: live.dag_id,
      run_id: live.run_id,
      task_id: live.task_id,
      map_index: live.map_index,
      try_number: params.try_number,
    });
    const text = readTaskLog(path, ctx.config.values.logging.base_log_folder);
    const lines = text === undefined ? [] : text.split("\n");
    if (lines.length > 0 && lines.at(-1) === "") lines.pop();
    const position = query.full_content ? null : decodeToken(query.token);
    const from = Math.min(position?.log_pos ?? 0, lines.length);
    // The "no file yet" notice is said once: a reader following with a token gets only new lines.
    const notice = text === undefined && position === null;
    const messages: LogMessage[] = notice
      ? [
          {
            event: ended
              ? `*** Log file does not exist: ${path}`
              : "*** The log file has not been written yet: the try has not started writing output",
          },
        ]
      : lines.slice(from).map(toMessage);
    const token = ended ? null : encodeToken({ log_pos: lines.length, end_of_log: false });

    const accept = String(raw.headers.accept ?? "*/*");
    if (token) void reply.header("Airflow-Continuation-Token", token);
    if (accept.includes("text/plain")) {
      const body = notice ? `${messages[0]!.event}\n` : lines.slice(from).map(asText).join("\n");
      void reply
        .code(200)
        .type("text/plain; charset=utf-8")
        .send(body && !body.endsWith("\n") ? `${body}\n` : body);
      return;
    }
    if (accept.includes("application/x-ndjson")) {
      void reply
        .code(200)
        .type("application/x-ndjson")
        .send(messages.map((m) => `${JSON.stringify(m)}\n`).join(""));
      return;
    }
    return { content: messages, continuation_token: token };
  });

  ctx.route("get_external_log_url", async () => {
    // Task logs are files on the workers' shared log folder; no external log service is configured.
    throw badRequest("Task log handler does not support external logs.");
  });
}
