/**
 * Where variables and connections come from (Airflow's secrets backends): a chain of backends asked
 * in order, the first that has one answering. The default chain is the environment
 * (`UPDRAFT_VAR_<KEY>`, `UPDRAFT_CONN_<ID>`, the key or id upper-cased, as Airflow's `AIRFLOW_VAR_`
 * and `AIRFLOW_CONN_`), then the metadata database. The CLI, templates and tasks all look up through
 * it, so a value a deployment gives in the environment reads the same everywhere. Another backend
 * (a vault) implements SecretsBackend and goes in the chain.
 */
import { parseConnectionValue, type Connection } from "../connections/uri.ts";
import { connectionStore } from "../storage/connections.ts";
import type { Database } from "../storage/database.ts";
import { variableStore } from "../storage/variables.ts";
import type { SecretCipher } from "./cipher.ts";

export interface SecretVariable {
  key: string;
  value: string;
  /** Masked in task logs. */
  isSecret: boolean;
}

export interface SecretsBackend {
  readonly name: string;
  getVariable(key: string): Promise<SecretVariable | undefined>;
  getConnection(connId: string): Promise<Connection | undefined>;
}

export const VARIABLE_PREFIX = "UPDRAFT_VAR_";
export const CONNECTION_PREFIX = "UPDRAFT_CONN_";

/** UPDRAFT_VAR_<KEY> and UPDRAFT_CONN_<ID> (a URI, or JSON when it starts with "{"). */
export function environmentSecrets(env: NodeJS.ProcessEnv = process.env): SecretsBackend {
  return {
    name: "environment",
    async getVariable(key) {
      const value = env[`${VARIABLE_PREFIX}${key.toUpperCase()}`];
      return value === undefined ? undefined : { key, value, isSecret: false };
    },
    async getConnection(connId) {
      const value = env[`${CONNECTION_PREFIX}${connId.toUpperCase()}`];
      // A malformed value is an error naming the variable, not a connection that silently is not there.
      return value === undefined ? undefined : parseConnectionValue(connId, value);
    },
  };
}

/** The metadata database (encrypted values decrypted with the installation's key). */
export function metastoreSecrets(database: Database, cipher: SecretCipher): SecretsBackend {
  return {
    name: "metastore",
    async getVariable(key) {
      const v = await variableStore(database, cipher).get(key);
      return v && { key: v.key, value: v.value, isSecret: v.isSecret };
    },
    getConnection: (connId) => connectionStore(database, cipher).get(connId),
  };
}

/** Asks each backend in turn; the first answer wins. */
export function secretsChain(backends: readonly SecretsBackend[]): SecretsBackend {
  return {
    name: backends.map((b) => b.name).join(" > "),
    async getVariable(key) {
      for (const backend of backends) {
        const found = await backend.getVariable(key);
        if (found) return found;
      }
      return undefined;
    },
    async getConnection(connId) {
      for (const backend of backends) {
        const found = await backend.getConnection(connId);
        if (found) return found;
      }
      return undefined;
    },
  };
}

/** The installation's chain: the environment, then the metadata database. */
export function defaultSecrets(database: Database, cipher: SecretCipher, env = process.env): SecretsBackend {
  return secretsChain([environmentSecrets(env), metastoreSecrets(database, cipher)]);
}

/** The variables and connections the environment gives, for templates (var.value.*, conn.*). */
export function environmentEntries(env: NodeJS.ProcessEnv = process.env): {
  variables: [key: string, value: string][];
  connections: Connection[];
} {
  const variables: [string, string][] = [];
  const connections: Connection[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) continue;
    if (name.startsWith(VARIABLE_PREFIX))
      variables.push([name.slice(VARIABLE_PREFIX.length).toLowerCase(), value]);
    else if (name.startsWith(CONNECTION_PREFIX))
      connections.push(parseConnectionValue(name.slice(CONNECTION_PREFIX.length).toLowerCase(), value));
  }
  return { variables, connections };
}
