/**
 * Reading the installation's state for progress lines and the final count. Each read opens its own
 * connection and closes it: the database is restarted mid-run, and a pooled idle connection that
 * the server drops would otherwise surface later as an unhandled error in the harness itself.
 */
import { createConnection } from "mysql2/promise";
import pg from "pg";
import type { FinalState } from "./measure.ts";

async function query<T>(url: string, text: string): Promise<T[]> {
  if (url.startsWith("mysql")) {
    const c = await createConnection({ uri: url, connectTimeout: 3000 });
    c.on("error", () => undefined);
    try {
      const [rows] = await c.query(text);
      return rows as T[];
    } finally {
      await c.end().catch(() => undefined);
    }
  }
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  c.on("error", () => undefined);
  await c.connect();
  try {
    return (await c.query(text)).rows as T[];
  } finally {
    await c.end().catch(() => undefined);
  }
}

export interface Snapshot {
  runs: { state: string; n: number }[];
  tis: { state: string; n: number }[];
}

export async function snapshot(url: string): Promise<Snapshot> {
  const runs = await query<{ state: string; n: string | number }>(
    url,
    "SELECT state, count(*) AS n FROM dag_run GROUP BY state ORDER BY state",
  );
  const tis = await query<{ state: string | null; n: string | number }>(
    url,
    "SELECT state, count(*) AS n FROM task_instance GROUP BY state ORDER BY state",
  );
  return {
    runs: runs.map((r) => ({ state: r.state, n: Number(r.n) })),
    tis: tis.map((r) => ({ state: r.state ?? "none", n: Number(r.n) })),
  };
}

export async function finalStates(
  url: string,
): Promise<{ tis: FinalState[]; runs: { dag: string; run: string; state: string }[] }> {
  const tis = await query<{
    dag_id: string;
    run_id: string;
    task_id: string;
    state: string | null;
    try_number: number;
  }>(url, "SELECT dag_id, run_id, task_id, state, try_number FROM task_instance");
  const runs = await query<{ dag_id: string; run_id: string; state: string }>(
    url,
    "SELECT dag_id, run_id, state FROM dag_run",
  );
  return {
    tis: tis.map((t) => ({
      dag: t.dag_id,
      run: t.run_id,
      task: t.task_id,
      state: t.state ?? "none",
      tryNumber: Number(t.try_number),
    })),
    runs: runs.map((r) => ({ dag: r.dag_id, run: r.run_id, state: r.state })),
  };
}

export function describeSnapshot(s: Snapshot): string {
  const list = (rows: { state: string; n: number }[]) =>
    rows.map((r) => `${r.state} ${r.n}`).join(", ") || "none";
  return `runs: ${list(s.runs)} | task instances: ${list(s.tis)}`;
}
