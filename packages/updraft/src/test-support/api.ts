/**
 * API tests: a webserver over a fresh database (SQLite and PostgreSQL, as the API issue asks), with a
 * user per role, DAG files processed for real, and every response checked against Airflow's spec.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before } from "node:test";
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import type { FastifyInstance } from "fastify";
import { pino } from "pino";
import { buildApi } from "../api/app.ts";
import { hashPassword } from "../api/auth/passwords.ts";
import { allPaths, loadSpec, operation } from "../api/spec.ts";
import { loadConfig, type Config } from "../config/load.ts";
import { processDagFiles } from "../dag-processing/processor.ts";
import { createCipher } from "../secrets/cipher.ts";
import type { Database } from "../storage/database.ts";
import { ROLES, userStore, type Role } from "../storage/users.ts";
import { forEachDatabase } from "./databases.ts";

export interface ApiHarness {
  app: FastifyInstance;
  database: Database;
  config: Config;
  home: string;
  /** A bearer token per role (users admin, op, user, viewer). */
  tokens: Record<Role, string>;
  /**
   * Calls the API as `as` (default Admin) and checks the answer against the spec's schema for the
   * operation and status (an operation id names which; a status the spec does not list fails too).
   */
  call(
    operationId: string,
    request: {
      path?: Record<string, string | number>;
      query?: Record<string, unknown>;
      body?: unknown;
      as?: Role | null;
    },
  ): Promise<{ status: number; body: any }>; // eslint-disable-line @typescript-eslint/no-explicit-any -- tests read any field
}

export const PASSWORDS: Record<Role, string> = {
  Admin: "admin-pass-1",
  Op: "op-pass-1",
  User: "user-pass-1",
  Viewer: "viewer-pass-1",
};

const hashes = new Map<Role, Promise<string>>();
const hashOf = (role: Role) => {
  if (!hashes.has(role)) hashes.set(role, hashPassword(PASSWORDS[role]));
  return hashes.get(role)!;
};

let ajv: Ajv2020 | null = null;
const validators = new Map<string, ValidateFunction>();

/** The spec's schema for one operation's answer with `status`, compiled once. */
export function responseValidator(operationId: string, status: number): ValidateFunction | null {
  const key = `${operationId} ${status}`;
  if (validators.has(key)) return validators.get(key)!;
  const op = operation(operationId);
  const spec = loadSpec();
  const response = (allPaths()[op.path]![op.method.toLowerCase()] as any).responses[String(status)]; // eslint-disable-line @typescript-eslint/no-explicit-any
  if (!response) return null;
  const schema = response.content?.["application/json"]?.schema;
  if (!schema) return null;
  if (!ajv) {
    ajv = new Ajv2020({ strict: false, allErrors: true });
    (addFormats as unknown as (a: Ajv2020) => void)(ajv);
    ajv.addSchema({ $id: "spec", components: spec.components });
  }
  const rewrite = (s: unknown): unknown =>
    JSON.parse(JSON.stringify(s).replaceAll('"#/components/', '"spec#/components/'));
  const validate = ajv.compile(rewrite(schema) as object);
  validators.set(key, validate);
  return validate;
}

export interface ApiSetup {
  /** DAG files to write into the DAGs folder and process before the tests. */
  dags?: Record<string, string>;
  env?: Record<string, string>;
  /** Passed to buildApi: called after every accepted change. */
  onChange?: () => void;
  /** Also MySQL/MariaDB (security tests: every finding that touches the database, on all three). */
  allDatabases?: boolean;
}

/** Runs `suite` against SQLite and PostgreSQL (and MySQL with `allDatabases`), each with its own webserver. */
export function forEachApiDatabase(title: string, setup: ApiSetup, suite: (get: () => ApiHarness) => void) {
  forEachDatabase(
    title,
    (getDatabase) => {
      let harness: ApiHarness | undefined;
      before(async () => {
        harness = await startHarness(getDatabase(), setup);
      });
      after(async () => {
        await harness?.app.close();
        if (harness) rmSync(harness.home, { recursive: true, force: true });
      });
      suite(() => harness!);
    },
    setup.allDatabases ? {} : { only: ["sqlite", "postgres"] },
  );
}

async function startHarness(database: Database, setup: ApiSetup): Promise<ApiHarness> {
  const home = mkdtempSync(join(tmpdir(), "updraft-api-"));
  mkdirSync(join(home, "dags"));
  for (const [name, text] of Object.entries(setup.dags ?? {})) writeFileSync(join(home, "dags", name), text);
  const config = loadConfig({
    env: { UPDRAFT_HOME: home, UPDRAFT__CORE__LOAD_EXAMPLES: "false", ...setup.env },
  });
  if (setup.dags) await processDagFiles(config, database);
  const users = userStore(database);
  for (const role of ROLES)
    await users.create({ username: role.toLowerCase(), role, passwordHash: await hashOf(role) });
  const app = await buildApi({
    config,
    database,
    log: pino({ level: "silent" }),
    cipher: createCipher(config.values.security.encryption_key),
    onChange: setup.onChange,
  });
  const tokens = {} as Record<Role, string>;
  for (const role of ROLES) {
    const r = await app.inject({
      method: "POST",
      url: "/auth/token",
      payload: { username: role.toLowerCase(), password: PASSWORDS[role] },
    });
    assert.equal(r.statusCode, 201, r.body);
    tokens[role] = r.json().access_token;
  }
  const call: ApiHarness["call"] = async (operationId, request) => {
    const op = operation(operationId);
    let url = op.path.replace(/\{(\w+)\}/g, (_, name: string) =>
      encodeURIComponent(String(request.path?.[name] ?? `{${name}}`)),
    );
    const query = new URLSearchParams();
    for (const [k, v] of Object.entries(request.query ?? {}))
      for (const item of Array.isArray(v) ? v : [v]) if (item !== undefined) query.append(k, String(item));
    if ([...query].length) url += `?${query}`;
    const as = request.as === undefined ? "Admin" : request.as;
    const response = await app.inject({
      method: op.method,
      url,
      headers: as ? { authorization: `Bearer ${tokens[as]}` } : {},
      ...(request.body !== undefined ? { payload: request.body as object } : {}),
    });
    const body = response.body ? safeJson(response.body) : null;
    // Airflow answers a refused order_by with 400 on every list, though its spec lists 400 on few.
    const detail = String((body as { detail?: unknown } | null)?.detail ?? "");
    const orderRefused = response.statusCode === 400 && detail.startsWith("Ordering with");
    assert.ok(
      op.statuses.includes(String(response.statusCode)) || orderRefused,
      `${operationId} answered ${response.statusCode}, which the spec does not list (${op.statuses.join(", ")}): ${response.body}`,
    );
    const validate = responseValidator(operationId, response.statusCode);
    if (validate && !validate(body))
      assert.fail(
        `${operationId} ${response.statusCode}: the body does not match the spec: ${ajv!.errorsText(validate.errors)}\n${JSON.stringify(body).slice(0, 2000)}`,
      );
    return { status: response.statusCode, body };
  };
  return { app, database, config, home, tokens, call };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
