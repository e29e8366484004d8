/**
 * What a running task may read (`getVariable`, `getConnection`) and write (`setVariable`), in the one
 * shape it receives it, wherever it runs: the scheduler answers its own tasks with this, the Task
 * Execution API a worker's.
 */
import { readFileSync } from "node:fs";
import type { Config } from "../config/load.ts";
import { ConflictError } from "../core/errors.ts";
import { defaultSecrets, environmentVariableName } from "../secrets/backends.ts";
import type { SecretCipher } from "../secrets/cipher.ts";
import type { Database } from "../storage/database.ts";
import type { TryFence } from "../storage/task-instances.ts";
import { retrying } from "../storage/retry.ts";
import { variableStore } from "../storage/variables.ts";
import type { LookupKind, VariableWrite, VariableWritten } from "../runner/taskflow-protocol.ts";
import type { EmailSettings } from "../sdk/lookups.ts";

/**
 * The variable or connection `key` as a task gets it (Airflow's field names), or undefined: through
 * the installation's secrets chain (the environment, then the database; secrets/backends.ts).
 */
export async function lookupForTask(
  database: Database,
  cipher: SecretCipher,
  what: LookupKind,
  key: string,
): Promise<Record<string, unknown> | undefined> {
  if (what === "external_states") return externalStates(database, key);
  if (what === "email_settings")
    throw new Error("email settings come from the configuration (emailSettingsOf), not the database");
  const secrets = defaultSecrets(database, cipher);
  if (what === "variable") {
    const v = await secrets.getVariable(key);
    return v && { key: v.key, value: v.value, is_secret: v.isSecret };
  }
  const c = await secrets.getConnection(key);
  return (
    c && {
      conn_id: c.connId,
      conn_type: c.connType,
      host: c.host,
      login: c.login,
      password: c.password,
      schema: c.schema,
      port: c.port,
      extra: c.extra,
    }
  );
}

/**
 * The email settings a task's sendEmail needs ([email], [smtp], [api] base_url): the configuration
 * stays with the services, so user code asks for them. No secret is among them (SMTP credentials
 * live in the connection, masked in the task's log like any connection's).
 */
export function emailSettingsOf(config: Config): EmailSettings {
  const { email, smtp, api } = config.values;
  return {
    email_conn_id: email.email_conn_id || "smtp_default",
    from_email: email.from_email || null,
    subject_template: templateFile(email.subject_template, "subject_template"),
    html_content_template: templateFile(email.html_content_template, "html_content_template"),
    base_url: api.base_url ? api.base_url.replace(/\/+$/, "") : null,
    smtp: {
      host: smtp.smtp_host,
      port: smtp.smtp_port,
      starttls: smtp.smtp_starttls,
      ssl: smtp.smtp_ssl,
      mail_from: smtp.smtp_mail_from,
      timeout: smtp.smtp_timeout,
      retry_limit: smtp.smtp_retry_limit,
    },
  };
}

/** An [email] template file's content (read by the service: the path is the operator's, not user code's). */
function templateFile(path: string, key: string): string | null {
  if (!path) return null;
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    throw new Error(`[email] ${key}: cannot read ${path}: ${(error as Error).message}`, { cause: error });
  }
}

/** What an externalTaskSensor asks (sdk/ready-sensors.ts): another DAG's runs at these logical dates. */
export interface ExternalStatesQuery {
  dagId: string;
  /** The tasks whose instances it wants; null: only the runs. */
  taskIds: string[] | null;
  logicalDates: string[];
}

export interface ExternalStates {
  dagExists: boolean;
  runs: { logicalDate: string; runId: string; state: string }[];
  taskInstances: { logicalDate: string; taskId: string; mapIndex: number; state: string | null }[];
}

/**
 * The states an externalTaskSensor waits on, read-only: the DAG's runs at the dates asked and, when
 * tasks are named, their task instances in those runs.
 */
export async function externalStates(database: Database, key: string): Promise<Record<string, unknown>> {
  const q = parseQuery(key);
  const db = database.db;
  const dag = await db.selectFrom("dag").select("dag_id").where("dag_id", "=", q.dagId).executeTakeFirst();
  const out: ExternalStates = { dagExists: dag !== undefined, runs: [], taskInstances: [] };
  if (q.logicalDates.length === 0) return { ...out };
  const runs = await db
    .selectFrom("dag_run")
    .select(["id", "run_id", "logical_date", "state"])
    .where("dag_id", "=", q.dagId)
    .where("logical_date", "in", q.logicalDates)
    .execute();
  out.runs = runs.map((r) => ({ logicalDate: r.logical_date!, runId: r.run_id, state: r.state }));
  if (q.taskIds && q.taskIds.length > 0 && runs.length > 0) {
    const dateOf = new Map(runs.map((r) => [r.id, r.logical_date!]));
    const tis = await db
      .selectFrom("task_instance")
      .select(["dag_run_id", "task_id", "map_index", "state"])
      .where(
        "dag_run_id",
        "in",
        runs.map((r) => r.id),
      )
      .where("task_id", "in", q.taskIds)
      .execute();
    out.taskInstances = tis.map((t) => ({
      logicalDate: dateOf.get(t.dag_run_id)!,
      taskId: t.task_id,
      mapIndex: t.map_index,
      state: t.state,
    }));
  }
  return { ...out };
}

function parseQuery(key: string): ExternalStatesQuery {
  let raw: Partial<ExternalStatesQuery>;
  try {
    raw = JSON.parse(key) as Partial<ExternalStatesQuery>;
  } catch {
    throw new Error(`external_states takes a JSON query, got ${key.slice(0, 100)}`);
  }
  if (typeof raw.dagId !== "string" || !Array.isArray(raw.logicalDates))
    throw new Error("external_states takes { dagId, taskIds, logicalDates }");
  return {
    dagId: raw.dagId,
    taskIds: Array.isArray(raw.taskIds) ? raw.taskIds.map(String) : null,
    // Stored as toISOString() writes them: compared as text.
    logicalDates: raw.logicalDates.map((d) => new Date(String(d)).toISOString()),
  };
}

/**
 * A running try's setVariable (Airflow's Variable.set), written to the database only while the try
 * still runs its task instance: a stale try (cleared, replaced, ended) is refused with a CONFLICT.
 * Says which environment variable shadows it on read (UPDRAFT_VAR_<KEY> wins over the database, here
 * where the task's reads are answered), and whether it is stored as a secret (to mask in the log).
 */
export async function writeVariableForTask(
  database: Database,
  cipher: SecretCipher,
  fence: TryFence,
  write: VariableWrite,
  env: NodeJS.ProcessEnv = process.env,
): Promise<VariableWritten & { secret: boolean }> {
  // A whole transaction, fenced: safe to run again after a deadlock or a lost connection.
  const written = await retrying(() => variableStore(database, cipher).setForTry(fence, write), {
    what: `writing variable "${write.key}"`,
    maxMs: 30_000,
  });
  if (!written)
    throw new ConflictError(
      `this try of task "${fence.key.taskId}" no longer runs its task instance (cleared, replaced or ended): variable "${write.key}" was not written`,
    );
  const name = environmentVariableName(write.key);
  return { shadowedBy: env[name] === undefined ? null : name, secret: written.isSecret };
}
