/**
 * One try's log, read once in full and then, while the try is still writing, followed from the
 * server's continuation token: each poll brings only the lines written since the last one.
 */
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect } from "react";
import { api, must } from "../../api.ts";
import type { components } from "../../../../updraft/src/api/generated/airflow-v2.ts";

type LogPage = components["schemas"]["TaskInstancesLogResponse"];

export interface LogLine {
  /** What was printed (the message), searched and highlighted. */
  text: string;
  /** When it was written and by whom, shown before it: `[time] {stdout}`; empty for a bare line. */
  prefix: string;
  /** Written by the task runner itself (`[time] {updraft} …`), not by the task. */
  runner: boolean;
  /** The task's stream the line came on, when the log says (logs written before it do not). */
  stream: "stdout" | "stderr" | null;
  /** The server's level for the line: debug, info, warning, error or critical. */
  level: string;
}

export interface TaskLog {
  lines: LogLine[];
  /** Where to read on from; null once the try has ended and everything has been read. */
  token: string | null;
}

export interface TryKey {
  dagId: string;
  runId: string;
  taskId: string;
  tryNumber: number;
  /** A mapped task's instance; -1 (or absent) for a task that is not mapped. */
  mapIndex?: number;
}

const mapped = (k: TryKey) => (k.mapIndex ?? -1) >= 0;

const FOLLOW_MS = 1000;

type Message = string | { event: string; timestamp?: string; logger?: unknown; level?: unknown };

function toLine(m: Message): LogLine {
  if (typeof m === "string") return { text: m, prefix: "", runner: false, stream: null, level: "info" };
  const logger = typeof m.logger === "string" ? m.logger : null;
  const level = typeof m.level === "string" ? m.level : "info";
  const stream = logger === "stdout" || logger === "stderr" ? logger : null;
  if (!m.timestamp && !logger) return { text: m.event, prefix: "", runner: false, stream, level };
  return {
    text: m.event,
    prefix: `${m.timestamp ? `[${m.timestamp}] ` : ""}${logger ? `{${logger}}` : ""}`.trim(),
    runner: logger === "updraft",
    stream,
    level,
  };
}

async function readLog(k: TryKey, token: string | null): Promise<TaskLog> {
  // Asked as JSON (the client's default Accept), the answer is the structured page, not NDJSON text.
  const page = must(
    await api.GET("/api/v2/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/logs/{try_number}", {
      params: {
        path: { dag_id: k.dagId, dag_run_id: k.runId, task_id: k.taskId, try_number: k.tryNumber },
        query: { ...(token ? { token } : {}), ...(mapped(k) ? { map_index: k.mapIndex } : {}) },
      },
    }),
  ) as LogPage;
  return { lines: (page.content as Message[]).map(toLine), token: page.continuation_token };
}

export const logQueryKey = (k: TryKey) => ["log", k.dagId, k.runId, k.taskId, k.mapIndex ?? -1, k.tryNumber];

export function useTaskLog(k: TryKey, enabled: boolean) {
  const queries = useQueryClient();
  const key = logQueryKey(k);
  const query = useQuery({
    queryKey: key,
    enabled,
    queryFn: () => readLog(k, null),
    // The log is kept current by following it; a full re-read on focus would throw that away.
    staleTime: Infinity,
    refetchOnWindowFocus: false,
  });
  const data = query.data;
  useEffect(() => {
    if (!data?.token) return;
    let stopped = false;
    const timer = setTimeout(async () => {
      const more = await readLog(k, data.token).catch(() => null);
      if (stopped || !more) return;
      queries.setQueryData<TaskLog>(key, {
        lines: more.lines.length ? data.lines.concat(more.lines) : data.lines,
        token: more.token,
      });
    }, FOLLOW_MS);
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
    // Each answer stored moves `data`, which schedules the next read: a chain, never two at once.
  }, [data, k.dagId, k.runId, k.taskId, k.tryNumber, queries]);
  return query;
}

/** The whole log of a try as the file it is, for saving. */
export async function downloadLog(k: TryKey): Promise<void> {
  const url = `/api/v2/dags/${encodeURIComponent(k.dagId)}/dagRuns/${encodeURIComponent(k.runId)}/taskInstances/${encodeURIComponent(k.taskId)}/logs/${k.tryNumber}?full_content=true${mapped(k) ? `&map_index=${k.mapIndex}` : ""}`;
  const r = await fetch(url, { headers: { accept: "text/plain" }, credentials: "same-origin" });
  if (!r.ok) throw new Error(`downloading the log answered ${r.status}`);
  const blob = new Blob([await r.text()], { type: "text/plain;charset=utf-8" });
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = `${k.dagId}__${k.runId}__${k.taskId}__try-${k.tryNumber}.log`.replace(/[/\\:]/g, "_");
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
}
