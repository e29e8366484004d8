/**
 * What a running task may read (`getVariable`, `getConnection`), in the one shape it receives it,
 * wherever it runs: the scheduler answers its own tasks with this, the Task Execution API a worker's.
 */
import { defaultSecrets } from "../secrets/backends.ts";
import type { SecretCipher } from "../secrets/cipher.ts";
import type { Database } from "../storage/database.ts";
import type { LookupKind } from "../runner/taskflow-protocol.ts";

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
