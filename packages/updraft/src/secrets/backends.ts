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

/** The environment variable that holds variable `key` (and wins over the database on read). */
export const environmentVariableName = (key: string) => `${VARIABLE_PREFIX}${key.toUpperCase()}`;

/** UPDRAFT_VAR_<KEY> and UPDRAFT_CONN_<ID> (a URI, or JSON when it starts with "{"). */
export function environmentSecrets(env: NodeJS.ProcessEnv = process.env): SecretsBackend {
  return {
    name: "environment",
    async getVariable(key) {
      const value = env[environmentVariableName(key)];
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

/** The environment's variables (UPDRAFT_VAR_*), for templates (var.value.*): key, value. */
export function environmentVariables(env: NodeJS.ProcessEnv = process.env): [key: string, value: string][] {
  return withPrefix(env, VARIABLE_PREFIX);
}

/**
 * The environment's connections (UPDRAFT_CONN_*), for templates (conn.*). Read apart from the
 * variables: a malformed connection fails only what reads connections, naming it.
 */
export function environmentConnections(env: NodeJS.ProcessEnv = process.env): Connection[] {
  return withPrefix(env, CONNECTION_PREFIX).map(([id, value]) => parseConnectionValue(id, value));
}

function withPrefix(env: NodeJS.ProcessEnv, prefix: string): [string, string][] {
  return Object.entries(env)
    .filter((e): e is [string, string] => e[0].startsWith(prefix) && e[1] !== undefined)
    .map(([name, value]) => [name.slice(prefix.length).toLowerCase(), value]);
}
