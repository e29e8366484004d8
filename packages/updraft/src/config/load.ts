/**
 * Loading configuration: defaults, then updraft.toml in UPDRAFT_HOME, then UPDRAFT__SECTION__KEY
 * (or UPDRAFT__SECTION__KEY_CMD, whose command's output is the value) from the environment.
 * `config list` shows each value with the place it came from.
 */
import { execSync } from "node:child_process";
import { existsSync, linkSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { parse as parseToml, stringify as stringifyToml } from "smol-toml";
import { UpdraftError } from "../core/errors.ts";
import { isValidTimezone } from "../core/schedule.ts";
import { generateKey } from "../secrets/cipher.ts";
import { OPTIONS, allOptions, type ConfigValues, type OptionSpec } from "./options.ts";

export const CONFIG_FILE_NAME = "updraft.toml";

export interface ConfigEntry {
  section: string;
  key: string;
  value: string | number | boolean;
  source: string;
  sensitive: boolean;
}

export interface Config {
  home: string;
  file: string;
  values: ConfigValues;
  entries: ConfigEntry[];
  /** Problems that do not stop Updraft (an unknown option in the file, say). */
  warnings: string[];
}

export interface LoadConfigOptions {
  env?: NodeJS.ProcessEnv;
  /** Write updraft.toml (with a fresh encryption key) when it does not exist. Default true. */
  writeIfMissing?: boolean;
}

export function resolveHome(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.UPDRAFT_HOME ?? join(homedir(), "updraft"));
}

export function loadConfig(options: LoadConfigOptions = {}): Config {
  const env = options.env ?? process.env;
  const home = resolveHome(env);
  const file = join(home, CONFIG_FILE_NAME);
  if (!existsSync(file) && options.writeIfMissing !== false) writeDefaultConfig(home, file);
  const fromFile = existsSync(file) ? readConfigFile(file) : {};
  const warnings = [...unknownOptions(fromFile, file), ...looseModes(home, file)];
  const entries = allOptions().map(({ section, key, spec }) => {
    const entry = resolveEntry(section, key, spec, { fromFile, env, file });
    if (typeof entry.value === "string") entry.value = entry.value.replaceAll("{UPDRAFT_HOME}", home);
    return entry;
  });
  const values = Object.fromEntries(Object.keys(OPTIONS).map((s) => [s, {}])) as Record<
    string,
    Record<string, unknown>
  >;
  for (const e of entries) values[e.section]![e.key] = e.value;
  const config = { home, file, values: values as ConfigValues, entries, warnings };
  validate(config);
  return config;
}

function readConfigFile(file: string): Record<string, unknown> {
  try {
    return parseToml(readFileSync(file, "utf8"));
  } catch (error) {
    throw new UpdraftError("CONFIG_INVALID", `${file} is not valid TOML: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

function unknownOptions(fromFile: Record<string, unknown>, file: string): string[] {
  const warnings: string[] = [];
  for (const [section, keys] of Object.entries(fromFile)) {
    const known = (OPTIONS as Record<string, Record<string, OptionSpec>>)[section];
    if (!known) {
      warnings.push(`${file}: unknown section [${section}] is ignored`);
      continue;
    }
    for (const key of Object.keys(keys as object)) {
      if (!(key in known)) warnings.push(`${file}: unknown option [${section}] ${key} is ignored`);
    }
  }
  return warnings;
}

interface Sources {
  fromFile: Record<string, unknown>;
  env: NodeJS.ProcessEnv;
  file: string;
}

function resolveEntry(section: string, key: string, spec: OptionSpec, src: Sources): ConfigEntry {
  const envName = `UPDRAFT__${section.toUpperCase()}__${key.toUpperCase()}`;
  const base = { section, key, sensitive: spec.sensitive ?? false };
  const raw = src.env[envName];
  if (raw !== undefined)
    return { ...base, value: coerce(raw, spec, `environment variable ${envName}`), source: `env ${envName}` };
  const command = src.env[`${envName}_CMD`];
  if (command !== undefined) {
    const out = execSync(command, { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] }).trim();
    return {
      ...base,
      value: coerce(out, spec, `the output of ${envName}_CMD`),
      source: `env ${envName}_CMD`,
    };
  }
  const inFile = (src.fromFile[section] as Record<string, unknown> | undefined)?.[key];
  if (inFile !== undefined)
    return { ...base, value: coerce(inFile, spec, `[${section}] ${key} in ${src.file}`), source: src.file };
  return { ...base, value: spec.default, source: "default" };
}

function coerce(raw: unknown, spec: OptionSpec, where: string): string | number | boolean {
  const text = String(raw).trim();
  const fail = (what: string): never => {
    throw new UpdraftError("CONFIG_INVALID", `${where} is ${JSON.stringify(raw)}, which is not ${what}`);
  };
  switch (spec.type) {
    case "string":
      return String(raw);
    case "boolean":
      if (typeof raw === "boolean") return raw;
      if (/^(true|1|yes|on)$/i.test(text)) return true;
      if (/^(false|0|no|off)$/i.test(text)) return false;
      return fail("a boolean (true or false)");
    case "integer":
      return /^-?\d+$/.test(text) ? Number(text) : fail("an integer");
    case "float":
      return text !== "" && Number.isFinite(Number(text)) ? Number(text) : fail("a number");
  }
}

function validate(config: Config): void {
  if (config.values.database.retention_days < 0)
    throw new UpdraftError(
      "CONFIG_INVALID",
      `[database] retention_days is ${config.values.database.retention_days}: use 0 (keep everything) or a number of days`,
    );
  const tz = config.values.core.default_timezone;
  if (!isValidTimezone(tz)) {
    throw new UpdraftError(
      "CONFIG_INVALID",
      `[core] default_timezone "${tz}" is not an IANA time zone (e.g. "UTC", "Europe/Amsterdam")`,
    );
  }
  const executor = config.values.core.executor;
  if (executor !== "local" && executor !== "bullmq")
    throw new UpdraftError(
      "CONFIG_INVALID",
      `[core] executor is "${executor}": use "local" (tasks run on the scheduler's machine) or "bullmq" (workers, through Redis)`,
    );
  if (config.values.bullmq.worker_timeout < 2)
    throw new UpdraftError(
      "CONFIG_INVALID",
      `[bullmq] worker_timeout is ${config.values.bullmq.worker_timeout}: use at least 2 seconds`,
    );
  checkLogLimits(config);
}

const MiB = 1024 * 1024;

/**
 * The log limits must agree: the folder's cap must hold a few tries' logs at once, so one try may take
 * at most a quarter of it (a larger max_bytes_per_try is lowered, with a warning that says so).
 */
function checkLogLimits(config: Config): void {
  const logging = config.values.logging;
  const invalid = (message: string) => new UpdraftError("CONFIG_INVALID", message);
  if (logging.max_bytes_per_try < 1024)
    throw invalid(
      `[logging] max_bytes_per_try is ${logging.max_bytes_per_try}: it must be at least 1024 bytes`,
    );
  if (logging.max_total_bytes < 0 || (logging.max_total_bytes > 0 && logging.max_total_bytes < MiB))
    throw invalid(
      `[logging] max_total_bytes is ${logging.max_total_bytes}: it must be 0 (no cap) or at least 1048576 (1 MiB)`,
    );
  if (logging.retention_days < 0)
    throw invalid(`[logging] retention_days is ${logging.retention_days}: it must be 0 or more`);
  if (!(logging.clean_interval_hours > 0))
    throw invalid(
      `[logging] clean_interval_hours is ${logging.clean_interval_hours}: it must be more than 0`,
    );
  const share = Math.floor(logging.max_total_bytes / 4);
  if (logging.max_total_bytes > 0 && logging.max_bytes_per_try > share) {
    config.warnings.push(
      `[logging] max_bytes_per_try (${logging.max_bytes_per_try}) is more than a quarter of [logging] max_total_bytes (${logging.max_total_bytes}): one try could take the whole folder, so it is lowered to ${share}; set it to ${share} or less, or raise max_total_bytes`,
    );
    (logging as { max_bytes_per_try: number }).max_bytes_per_try = share;
  }
}

/** The first-run file: every option commented out with its meaning and default, and a fresh key. */
export function renderDefaultConfig(encryptionKey: string, apiSecret = generateKey()): string {
  const lines = [
    "# Updraft configuration. Every option is listed with its meaning and default; uncomment to change.",
    "# Any option can be overridden by the environment: UPDRAFT__<SECTION>__<KEY>, e.g. UPDRAFT__CORE__LOAD_EXAMPLES=false,",
    "# or UPDRAFT__<SECTION>__<KEY>_CMD to take the value from a command's output.",
    "# {UPDRAFT_HOME} in a default stands for this file's folder.",
  ];
  for (const [section, keys] of Object.entries(OPTIONS)) {
    lines.push("", `[${section}]`);
    for (const [key, spec] of Object.entries(keys) as [string, OptionSpec][]) {
      lines.push(`# ${spec.description}`);
      if (section === "security" && key === "encryption_key") {
        lines.push(`${key} = ${stringifyToml({ v: encryptionKey }).slice(4).trim()}`);
      } else if (section === "api" && key === "secret_key") {
        lines.push(`${key} = ${stringifyToml({ v: apiSecret }).slice(4).trim()}`);
      } else {
        lines.push(`# ${key} = ${stringifyToml({ v: spec.default }).slice(4).trim()}`);
      }
    }
  }
  return lines.join("\n") + "\n";
}

/** Warnings for a home or config file that other OS users may read (created 0700/0600 by Updraft). */
function looseModes(home: string, file: string): string[] {
  const warnings: string[] = [];
  for (const [path, mode] of [
    [home, 0o700],
    [file, 0o600],
  ] as const) {
    try {
      if ((statSync(path).mode & 0o077) !== 0)
        warnings.push(
          `${path} can be read by other users of this machine: run \`chmod ${mode.toString(8)} ${path}\` (it may hold keys, the database and logs)`,
        );
    } catch {
      // Not there (yet): nothing to say.
    }
  }
  return warnings;
}

function writeDefaultConfig(home: string, file: string): void {
  // The home holds the keys, the SQLite database and the logs: only the service user may enter.
  mkdirSync(home, { recursive: true, mode: 0o700 });
  // The key protects stored secrets, so the file is readable by its owner only. Written aside and
  // linked into place: two services started at once in a new home both find a whole file (the
  // first one's; the second's link fails and is dropped), never a half-written one.
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, renderDefaultConfig(generateKey()), { mode: 0o600, flag: "wx" });
  try {
    linkSync(tmp, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  } finally {
    rmSync(tmp, { force: true });
  }
}
