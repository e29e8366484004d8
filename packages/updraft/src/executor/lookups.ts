/**
 * What a running task may read (`getVariable`, `getConnection`) and write (`setVariable`), in the one
 * shape it receives it, wherever it runs: the scheduler answers its own tasks with this, the Task
 * Execution API a worker's.
 */
import { ConflictError } from "../core/errors.ts";
import { defaultSecrets, environmentVariableName } from "../secrets/backends.ts";
import type { SecretCipher } from "../secrets/cipher.ts";
import type { Database } from "../storage/database.ts";
import type { TryFence } from "../storage/task-instances.ts";
import { retrying } from "../storage/retry.ts";
import { variableStore } from "../storage/variables.ts";
import type { LookupKind, VariableWrite, VariableWritten } from "../runner/taskflow-protocol.ts";

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
