/**
 * A worker's client of the Task Execution API (api/execution.ts). Calls that fail because the
 * webserver is away (refused, reset, 502/503/504) are retried with backoff for as long as the call
 * allows, so a webserver restart costs a worker nothing: a result is recorded once it is back.
 */
import type { Result, Workload } from "../run-task-instance.ts";
import type { TriggerRequest, TriggeredRun } from "../cross-dag.ts";
import type { LogStream } from "../../logs/writer.ts";
import type { TryRef } from "./registry.ts";

export interface StartReply {
  token: string | null;
  workload: Workload | null;
  failure?: Result;
  notes?: string[];
  maxTries?: number;
  operator?: string | null;
  /** Secrets the workload holds, to mask in the worker's copy of the log. */
  mask?: string[];
}

export class StaleTry extends Error {
  readonly detail: unknown;
  constructor(detail: unknown) {
    super("this try no longer owns its task instance");
    this.name = "StaleTry";
    this.detail = detail;
  }
}

export class ExecutionClient {
  readonly #base: string;
  readonly #onRetry: (what: string, error: unknown, attempt: number) => void;

  constructor(baseUrl: string, onRetry: (what: string, error: unknown, attempt: number) => void = () => {}) {
    this.#base = baseUrl.endsWith("/") ? baseUrl : `${baseUrl}/`;
    this.#onRetry = onRetry;
  }

  get baseUrl(): string {
    return this.#base;
  }

  start(token: string, t: TryRef, hostname: string, retryMs: number): Promise<StartReply> {
    return this.#json("PATCH", `${tiPath(t)}/run`, token, { hostname, pid: process.pid }, retryMs);
  }

  /** Alive; returns the renewed token. Throws StaleTry when the try must stop. */
  async heartbeat(token: string, t: TryRef, hostname: string): Promise<string | null> {
    const response = await this.#call(
      "PUT",
      `${tiPath(t)}/heartbeat`,
      token,
      { hostname, pid: process.pid },
      0,
    );
    return response.headers.get("refreshed-api-token");
  }

  async logs(
    token: string,
    t: TryRef,
    offset: number,
    pieces: { stream: LogStream; text: string }[],
    retryMs: number,
  ) {
    await this.#call("POST", `${tiPath(t)}/logs`, token, { offset, pieces }, retryMs);
  }

  finish(
    token: string,
    t: TryRef,
    result: Result & {
      handOver?: boolean;
      log?: { offset: number; pieces: { stream: LogStream; text: string }[] };
    },
    retryMs: number,
  ): Promise<{ state: string; notes: string[] }> {
    return this.#json("PATCH", `${tiPath(t)}/state`, token, result, retryMs);
  }

  /** A variable's value, or undefined when there is none. */
  async variable(token: string, key: string): Promise<{ value: string; is_secret: boolean } | undefined> {
    return this.#optional(`variables/${encodeURIComponent(key)}`, token);
  }

  async connection(token: string, connId: string): Promise<Record<string, unknown> | undefined> {
    return this.#optional(`connections/${encodeURIComponent(connId)}`, token);
  }

  /** The installation's email settings, for sendEmail in a task (lookups.ts emailSettingsOf). */
  emailSettings(token: string): Promise<Record<string, unknown>> {
    return this.#json("GET", "email-settings", token, undefined, 30_000);
  }

  /** Another DAG's run and task states (an externalTaskSensor's check; key: a JSON ExternalStatesQuery). */
  externalStates(token: string, query: string): Promise<Record<string, unknown>> {
    return this.#json("POST", "external-states", token, JSON.parse(query), 30_000);
  }

  /** Writes a variable as the token's try; throws StaleTry when the try no longer runs its task instance. */
  setVariable(
    token: string,
    variable: { key: string; value: string; description?: string | null },
  ): Promise<{ shadowed_by: string | null; is_secret: boolean }> {
    const { key, ...body } = variable;
    return this.#json("PUT", `variables/${encodeURIComponent(key)}`, token, body, 30_000);
  }

  /** Triggers a run for a trigger_dagrun try (api/execution.ts); a refusal throws with its reason. */
  async triggerRun(token: string, r: TriggerRequest): Promise<TriggeredRun> {
    const body = { run_id: r.runId, logical_date: r.logicalDate, conf: r.conf, reset_dag_run: r.resetDagRun };
    const reply = await this.#json<{ run_id: string; logical_date: string | null }>(
      "POST",
      `dag-runs/${encodeURIComponent(r.dagId)}`,
      token,
      body,
      30_000,
    ).catch((error: unknown) => {
      // The server's reason ("dag ... already has a run ...") is the task's failure.
      const reason = (error as { detail?: { detail?: unknown } }).detail?.detail;
      throw typeof reason === "string" ? new Error(reason, { cause: error }) : error;
    });
    return { runId: reply.run_id, logicalDate: reply.logical_date };
  }

  /** A run's state, or null when it does not exist. */
  async runState(token: string, dagId: string, runId: string): Promise<string | null> {
    const path = `dag-runs/${encodeURIComponent(dagId)}/${encodeURIComponent(runId)}/state`;
    return (await this.#optional<{ state: string }>(path, token))?.state ?? null;
  }

  async #optional<T>(path: string, token: string): Promise<T | undefined> {
    try {
      return await this.#json<T>("GET", path, token, undefined, 30_000);
    } catch (error) {
      if ((error as { status?: number }).status === 404) return undefined;
      throw error;
    }
  }

  async #json<T>(method: string, path: string, token: string, body: unknown, retryMs: number): Promise<T> {
    const response = await this.#call(method, path, token, body, retryMs);
    return (await response.json()) as T;
  }

  async #call(
    method: string,
    path: string,
    token: string,
    body: unknown,
    retryMs: number,
  ): Promise<Response> {
    const started = Date.now();
    for (let attempt = 1; ; attempt++) {
      let response: Response | undefined;
      let error: unknown;
      try {
        response = await fetch(new URL(path, this.#base), {
          method,
          headers: {
            authorization: `Bearer ${token}`,
            ...(body === undefined ? {} : { "content-type": "application/json" }),
          },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(30_000),
        });
      } catch (e) {
        error = e;
      }
      if (response && response.ok) return response;
      if (response && ![502, 503, 504].includes(response.status)) {
        const detail = await response.json().catch(() => null);
        if (response.status === 409) throw new StaleTry(detail);
        throw Object.assign(
          new Error(
            `${method} ${path}: ${response.status} ${JSON.stringify((detail as { detail?: unknown })?.detail ?? detail)}`,
          ),
          { status: response.status, detail },
        );
      }
      if (!error) {
        const detail = await response?.json().catch(() => null);
        error = new Error(
          `${method} ${path}: ${response?.status} ${JSON.stringify((detail as { detail?: unknown })?.detail ?? "")}`,
        );
      }
      if (Date.now() - started >= retryMs) throw error;
      this.#onRetry(`${method} ${path}`, error, attempt);
      await new Promise((r) => setTimeout(r, Math.min(2_000, 25 * 2 ** Math.min(attempt - 1, 7))));
    }
  }
}

function tiPath(t: TryRef): string {
  return `task-instances/${encodeURIComponent(t.dagId)}/${encodeURIComponent(t.runId)}/${encodeURIComponent(t.taskId)}/${t.mapIndex}`;
}
