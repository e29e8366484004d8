/**
 * The environment user code gets: DAG files at parse time, TypeScript and bash tasks at run time.
 * Built from an allow-list of the service's own environment, never by copying it, so the
 * installation's keys (`UPDRAFT__SECURITY__ENCRYPTION_KEY`, `UPDRAFT__API__SECRET_KEY`), the database
 * URL and anything else set for the services (`UPDRAFT__*`, their `_CMD` forms, UPDRAFT_HOME which
 * leads to updraft.toml) never reach a child that runs code a DAG author wrote. See docs/security.md.
 */

/** Names passed through as they are: what a shell, Node and common tools need to work. */
const PASSED = new Set([
  "PATH",
  "HOME",
  "USER",
  "LOGNAME",
  "SHELL",
  "TMPDIR",
  "TMP",
  "TEMP",
  "TZ",
  "LANG",
  "LANGUAGE",
  "TERM",
  "NO_COLOR",
  "FORCE_COLOR",
  "SSL_CERT_FILE",
  "SSL_CERT_DIR",
  "NODE_EXTRA_CA_CERTS",
  "HTTP_PROXY",
  "HTTPS_PROXY",
  "NO_PROXY",
  "http_proxy",
  "https_proxy",
  "no_proxy",
]);

/**
 * Prefixes passed through: the locale (LC_*), and the user's own configuration in Airflow's style,
 * UPDRAFT_VAR_<KEY> and UPDRAFT_CONN_<ID> (variables and connections a deployment gives its tasks
 * on purpose, as AIRFLOW_VAR_* / AIRFLOW_CONN_* are). `UPDRAFT__` (two underscores) is the services'
 * configuration and never matches these.
 */
const PASSED_PREFIXES = ["LC_", "UPDRAFT_VAR_", "UPDRAFT_CONN_"];

export function isPassedToUserCode(name: string): boolean {
  return PASSED.has(name) || PASSED_PREFIXES.some((prefix) => name.startsWith(prefix));
}

/**
 * The environment of a child running user code: the allowed part of `from` (the service's own
 * environment), then `extra` (the task's context, what the DAG sets, the lifeline), which wins.
 */
export function userCodeEnv(
  from: Record<string, string | undefined>,
  extra: Record<string, string | undefined> = {},
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(from))
    if (value !== undefined && isPassedToUserCode(name)) env[name] = value;
  for (const [name, value] of Object.entries(extra)) if (value !== undefined) env[name] = value;
  return env;
}
