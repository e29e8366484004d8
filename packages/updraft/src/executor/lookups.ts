/**
 * What a running task may read (`getVariable`, `getConnection`), in the one shape it receives it,
 * wherever it runs: the scheduler answers its own tasks with this, the Task Execution API a worker's.
 */
import type { SecretCipher } from "../secrets/cipher.ts";
import { connectionStore } from "../storage/connections.ts";
import type { Database } from "../storage/database.ts";
import { variableStore } from "../storage/variables.ts";
import type { LookupKind } from "../runner/taskflow-protocol.ts";

/** The variable or connection `key` as a task gets it (Airflow's field names), or undefined. */
export async function lookupForTask(
  database: Database,
  cipher: SecretCipher,
  what: LookupKind,
  key: string,
): Promise<Record<string, unknown> | undefined> {
  if (what === "variable") {
    const v = await variableStore(database, cipher).get(key);
    return v && { key: v.key, value: v.value, is_secret: v.isSecret };
  }
  const c = await connectionStore(database, cipher).get(key);
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
