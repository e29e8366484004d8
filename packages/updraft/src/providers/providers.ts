/**
 * Providers (Airflow's providers manager): what is installed that DAGs can use. The built-in provider
 * is Updraft itself (its operators, hooks, sensors and connection types); npm packages in the DAGs
 * project add theirs by declaring a provider module in their package.json:
 *
 *   "updraft": { "provider": "./dist/provider.js" }
 *
 * whose default export is `{ name, description, connectionTypes, operators, hooks, sensors, notifiers }`
 * (docs/providers.md). That module is a package author's code, so it is loaded in a child process
 * with a user-code environment (core/child-env.ts), never in the API or CLI process; only its data
 * comes back: names, descriptions and connection types without functions.
 */
import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { userCodeEnv } from "../core/child-env.ts";
import {
  BUILTIN_PROVIDER,
  BUILTIN_TYPES,
  connectionTypes,
  registerConnectionTypes,
  type ConnectionType,
  type ExtraField,
} from "../connections/types.ts";
import { VERSION } from "../version.ts";

/** One installed provider, in Airflow's ProviderResponse shape plus what it brings. */
export interface Provider {
  package_name: string;
  description: string;
  version: string;
  /** The provider's display name. */
  name: string;
  operators: string[];
  hooks: string[];
  sensors: string[];
  notifiers: string[];
  connection_types: string[];
  /** Where it was found: "built-in", or the package's folder. */
  source: string;
  /** Why its declaration could not be read, when it could not (it then brings nothing). */
  error?: string;
}

const BUILTIN: Provider = {
  package_name: BUILTIN_PROVIDER,
  name: "Updraft",
  description: "Updraft's own operators, hooks, sensors, notifiers and connection types",
  version: VERSION,
  operators: [
    "bash",
    "task.bash",
    "empty",
    "latestOnly",
    "http",
    "sql",
    "email",
    "triggerDagRun",
    "externalTaskMarker",
  ],
  hooks: ["httpHook", "sqlHook"],
  sensors: [
    "sensor",
    "fileSensor",
    "httpSensor",
    "sqlSensor",
    "timeSensor",
    "dateTimeSensor",
    "timeDeltaSensor",
    "externalTaskSensor",
  ],
  notifiers: ["smtpNotifier", "slackWebhookNotifier", "webhookNotifier"],
  connection_types: BUILTIN_TYPES.map((t) => t.connType),
  source: "built-in",
};

/** The package folders under node_modules (scoped ones too). */
function packageFolders(modules: string): string[] {
  if (!existsSync(modules)) return [];
  const out: string[] = [];
  for (const name of readdirSync(modules).sort()) {
    if (name.startsWith(".")) continue;
    const path = join(modules, name);
    if (name.startsWith("@")) {
      for (const inner of readdirSync(path).sort()) out.push(join(path, inner));
    } else out.push(path);
  }
  return out.filter((p) => existsSync(join(p, "package.json")));
}

interface Declared {
  folder: string;
  packageName: string;
  version: string;
  description: string;
  module: string;
}

/** The packages of the DAGs project that declare a provider (package.json "updraft.provider"). */
export function declaredProviders(dagsFolder: string): Declared[] {
  const out: Declared[] = [];
  for (const folder of packageFolders(join(dagsFolder, "node_modules"))) {
    let pkg: { name?: string; version?: string; description?: string; updraft?: { provider?: unknown } };
    try {
      pkg = JSON.parse(readFileSync(join(folder, "package.json"), "utf8")) as typeof pkg;
    } catch {
      continue;
    }
    const module = pkg.updraft?.provider;
    if (typeof module !== "string") continue;
    out.push({
      folder,
      packageName: pkg.name ?? folder,
      version: pkg.version ?? "",
      description: pkg.description ?? "",
      module: resolve(folder, module),
    });
  }
  return out;
}

/** What the child prints: the module's default export as data (functions dropped, `test` noted). */
const LOADER = `
const mod = await import(process.argv[1]);
const p = mod.default ?? mod.provider ?? {};
const names = (list) => (Array.isArray(list) ? list.map((x) => (typeof x === "string" ? x : x?.name ?? String(x))) : []);
const types = (Array.isArray(p.connectionTypes) ? p.connectionTypes : []).map((t) => ({ ...t, test: undefined }));
process.stdout.write(JSON.stringify({
  name: p.name, description: p.description,
  operators: names(p.operators), hooks: names(p.hooks), sensors: names(p.sensors), notifiers: names(p.notifiers),
  connectionTypes: types,
}));
`;

interface Loaded {
  name?: string;
  description?: string;
  operators: string[];
  hooks: string[];
  sensors: string[];
  notifiers: string[];
  connectionTypes: ConnectionType[];
}

function loadDeclaration(module: string, timeoutMs = 15_000): Promise<Loaded> {
  return new Promise((resolvePromise, reject) => {
    execFile(
      process.execPath,
      ["--input-type=module", "-e", LOADER, pathToFileURL(module).href],
      { env: userCodeEnv(process.env), timeout: timeoutMs, maxBuffer: 4 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) return reject(new Error((stderr || error.message).trim().split("\n").slice(-3).join(" ")));
        try {
          resolvePromise(JSON.parse(stdout) as Loaded);
        } catch {
          reject(
            new Error(`its provider module printed something that is not JSON: ${stdout.slice(0, 200)}`),
          );
        }
      },
    );
  });
}

/** A declared connection type kept only when its shape is right; a bad one is named in the error. */
function checkType(raw: unknown, provider: string): ConnectionType {
  const t = raw as Partial<ConnectionType>;
  if (!t || typeof t.connType !== "string" || !/^[a-z][a-z0-9_-]*$/.test(t.connType))
    throw new Error(
      `a connection type has no valid connType (lower-case letters, digits, _ and -): ${JSON.stringify(raw)}`,
    );
  const extraFields = (Array.isArray(t.extraFields) ? t.extraFields : []).filter(
    (f): f is ExtraField => typeof f?.name === "string",
  );
  return {
    connType: t.connType,
    label: typeof t.label === "string" ? t.label : t.connType,
    ...(typeof t.hook === "string" ? { hook: t.hook } : {}),
    ...(typeof t.defaultConnId === "string" ? { defaultConnId: t.defaultConnId } : {}),
    ...(t.fields && typeof t.fields === "object" ? { fields: t.fields } : {}),
    extraFields: extraFields.map((f) => ({ ...f, label: f.label ?? f.name, type: f.type ?? "string" })),
    ...(typeof t.defaultPort === "number" ? { defaultPort: t.defaultPort } : {}),
    provider,
  };
}

async function providerOf(d: Declared): Promise<Provider> {
  const base = {
    package_name: d.packageName,
    version: d.version,
    source: d.folder,
    operators: [],
    hooks: [],
    sensors: [],
    notifiers: [],
    connection_types: [],
    connectionTypes: [] as ConnectionType[],
  };
  try {
    const loaded = await loadDeclaration(d.module);
    const types = loaded.connectionTypes.map((t) => checkType(t, d.packageName));
    return {
      ...base,
      name: loaded.name ?? d.packageName,
      description: loaded.description ?? d.description,
      operators: loaded.operators,
      hooks: loaded.hooks,
      sensors: loaded.sensors,
      notifiers: loaded.notifiers,
      connection_types: types.map((t) => t.connType),
      connectionTypes: types,
    } as Provider;
  } catch (error) {
    return { ...base, name: d.packageName, description: d.description, error: (error as Error).message };
  }
}

const cache = new Map<string, { stamp: string; providers: Provider[]; types: ConnectionType[] }>();

/** The node_modules folder's state: a package added, removed or updated changes it. */
function stampOf(dagsFolder: string, declared: Declared[]): string {
  const modules = join(dagsFolder, "node_modules");
  const times = declared.map((d) => {
    const file = existsSync(d.module) ? statSync(d.module).mtimeMs : 0;
    return `${d.folder}:${statSync(join(d.folder, "package.json")).mtimeMs}:${file}`;
  });
  return `${existsSync(modules) ? statSync(modules).mtimeMs : 0}|${times.join("|")}`;
}

/**
 * Every installed provider: Updraft's own, then the DAGs project's packages that declare one; their
 * connection types join the registry (connections/types.ts). Read again when node_modules changes.
 */
export async function listProviders(dagsFolder: string): Promise<Provider[]> {
  const declared = declaredProviders(dagsFolder);
  const stamp = stampOf(dagsFolder, declared);
  let found = cache.get(dagsFolder);
  if (!found || found.stamp !== stamp) {
    const loaded = await Promise.all(declared.map(providerOf));
    const types = loaded.flatMap(
      (p) => (p as Provider & { connectionTypes: ConnectionType[] }).connectionTypes,
    );
    const providers = loaded.map(
      ({ connectionTypes: _types, ...p }: Provider & { connectionTypes?: unknown }) => p,
    );
    found = { stamp, providers, types };
    cache.set(dagsFolder, found);
  }
  registerConnectionTypes(found.types);
  return [BUILTIN, ...found.providers];
}

/** The known connection types once the DAGs project's providers are read. */
export async function allConnectionTypes(dagsFolder: string): Promise<ConnectionType[]> {
  await listProviders(dagsFolder);
  return connectionTypes();
}
