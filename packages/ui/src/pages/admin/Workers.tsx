/**
 * The workers of a distributed installation ([core] executor = bullmq), as they report themselves
 * through Redis: name, state, queues, concurrency, last heartbeat and the tries they run; and each
 * queue's depth. Refreshed every few seconds. With the local executor it says so.
 */
import { useQuery } from "@tanstack/react-query";
import type { Client } from "openapi-fetch";
import { api, must } from "../../api.ts";
import { formatDate } from "../../components/time.ts";
import { hrefs, Link } from "../../router.tsx";
import { EmptyRow, Failure } from "./common.tsx";

interface TryRef {
  dag_id: string;
  run_id: string;
  task_id: string;
  map_index: number;
  try_number: number;
}

interface Worker {
  worker_id: string;
  hostname: string;
  state: "running" | "stopping" | "dead";
  alive: boolean;
  queues: string[];
  concurrency: number;
  last_heartbeat: string;
  started_at: string;
  version: string;
  running_tries: TryRef[];
}

interface WorkersReply {
  executor: string;
  workers: Worker[];
  queues: { queue: string; waiting: number; active: number; delayed: number; failed: number }[];
  total_entries: number;
}

type Json<T> = { content: { "application/json": T } };
interface WorkersPaths {
  "/api/v2/workers": {
    get: { responses: { 200: Json<WorkersReply>; 503: Json<{ detail: unknown }> } };
  };
}
const workersApi = api as unknown as Client<WorkersPaths>;

export function WorkersSection() {
  const list = useQuery({
    queryKey: ["workers"],
    refetchInterval: 3000,
    queryFn: async () => must(await workersApi.GET("/api/v2/workers")),
  });
  const data = list.data;
  return (
    <>
      <div className="toolbar">
        <h1>Workers</h1>
      </div>
      <Failure what="Could not read the workers" error={list.error} />
      {data && data.executor !== "bullmq" && (
        <p>
          Tasks run on the schedulers' machines (<code>[core] executor = "{data.executor}"</code>). Workers on
          other machines need the bullmq executor: see docs/deployment.md.
        </p>
      )}
      {data && data.executor === "bullmq" && (
        <>
          <table aria-label="Workers">
            <thead>
              <tr>
                <th>Worker</th>
                <th>State</th>
                <th>Queues</th>
                <th>Running</th>
                <th>Last heartbeat</th>
                <th>Started</th>
              </tr>
            </thead>
            <tbody>
              {data.workers.map((w) => (
                <tr key={w.worker_id}>
                  <td title={w.worker_id}>{w.hostname}</td>
                  <td>
                    <span
                      className={`state ${w.alive ? (w.state === "running" ? "running" : "queued") : "failed"}`}
                    >
                      {w.state}
                    </span>
                  </td>
                  <td>{w.queues.join(", ")}</td>
                  <td>
                    {w.running_tries.length} / {w.concurrency}
                    {w.running_tries.length > 0 && (
                      <ul className="worker-tries">
                        {w.running_tries.map((t) => (
                          <li key={`${t.dag_id}/${t.run_id}/${t.task_id}/${t.map_index}`}>
                            <Link href={hrefs.dag(t.dag_id, { run: t.run_id })}>
                              {t.dag_id}.{t.task_id}
                            </Link>{" "}
                            try {t.try_number}
                          </li>
                        ))}
                      </ul>
                    )}
                  </td>
                  <td>{formatDate(w.last_heartbeat)}</td>
                  <td>{formatDate(w.started_at)}</td>
                </tr>
              ))}
              {data.workers.length === 0 && (
                <EmptyRow colSpan={6}>No worker is registered: start one with `updraft worker`.</EmptyRow>
              )}
            </tbody>
          </table>
          <h2>Queues</h2>
          <table aria-label="Queues">
            <thead>
              <tr>
                <th>Queue</th>
                <th>Waiting</th>
                <th>Running</th>
                <th>Delayed</th>
                <th>Failed jobs</th>
              </tr>
            </thead>
            <tbody>
              {data.queues.map((q) => (
                <tr key={q.queue}>
                  <td>{q.queue}</td>
                  <td>{q.waiting}</td>
                  <td>{q.active}</td>
                  <td>{q.delayed}</td>
                  <td>{q.failed}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </>
  );
}
