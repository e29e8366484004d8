/** `updraft connections add|get|list|delete|import|export`, in Airflow's URI and JSON forms. */
import { readFileSync, writeFileSync } from "node:fs";
import { defaultSecrets } from "../../../secrets/backends.ts";
import { extname } from "node:path";
import type { Command } from "commander";
import { Option } from "commander";
import { parse as parseYaml, stringify as toYaml } from "yaml";
import { InvalidInputError, NotFoundError, UpdraftError } from "../../../core/errors.ts";
import {
  connectionToUri,
  extraDejson,
  parseConnectionJson,
  parseConnectionUri,
  type Connection,
} from "../../../connections/uri.ts";
import { connectionStore } from "../../../storage/connections.ts";
import { testConnectionOf } from "../../../connections/types.ts";
import { withContext } from "../../context.ts";
import { outputOption, printRows, type OutputFormat } from "../../output.ts";
import { progressReporter } from "../../progress.ts";

interface AddOptions {
  connUri?: string;
  connJson?: string;
  connType?: string;
  connHost?: string;
  connLogin?: string;
  connPassword?: string;
  connSchema?: string;
  connPort?: string;
  connExtra?: string;
  connDescription?: string;
}

function fromOptions(connId: string, o: AddOptions): Connection {
  if (o.connUri) return { ...parseConnectionUri(connId, o.connUri), description: o.connDescription ?? null };
  if (o.connJson) return parseConnectionJson(connId, o.connJson);
  if (!o.connType)
    throw new InvalidInputError(
      `connection "${connId}": give --conn-uri, --conn-json, or at least --conn-type`,
    );
  if (o.connPort !== undefined && !/^\d+$/.test(o.connPort))
    throw new InvalidInputError(`connection "${connId}": --conn-port must be a number, got "${o.connPort}"`);
  if (o.connExtra !== undefined) assertJsonObject(connId, o.connExtra);
  return {
    connId,
    connType: o.connType,
    description: o.connDescription ?? null,
    host: o.connHost ?? null,
    login: o.connLogin ?? null,
    password: o.connPassword ?? null,
    schema: o.connSchema ?? null,
    port: o.connPort === undefined ? null : Number(o.connPort),
    extra: o.connExtra ?? null,
  };
}

function assertJsonObject(connId: string, extra: string): void {
  let parsed: unknown;
  try {
    parsed = JSON.parse(extra);
  } catch {
    parsed = undefined;
  }
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed))
    throw new InvalidInputError(
      `connection "${connId}": --conn-extra must be a JSON object, e.g. '{"timeout": 10}'`,
    );
}

function toRecord(c: Connection, reveal: boolean): Record<string, unknown> {
  return {
    conn_id: c.connId,
    conn_type: c.connType,
    description: c.description,
    host: c.host,
    schema: c.schema,
    login: c.login,
    password: c.password !== null && !reveal ? "***" : c.password,
    port: c.port,
    extra: c.extra,
    uri: reveal ? connectionToUri(c) : undefined,
  };
}

/** Airflow's export shape: { conn_id: { conn_type, host, ... } }. */
function toExport(c: Connection): Record<string, unknown> {
  return {
    conn_type: c.connType,
    description: c.description,
    host: c.host,
    login: c.login,
    password: c.password,
    schema: c.schema,
    port: c.port,
    extra: c.extra,
  };
}

export function register(program: Command): void {
  const group = program
    .command("connections")
    .description("Manage connections: credentials for the systems your tasks talk to");
  group
    .command("add")
    .argument("<conn_id>")
    .description("Add a connection (an existing id is an error: delete it first)")
    .option("--conn-uri <uri>", "e.g. postgres://user:pass@host:5432/db?sslmode=require")
    .option("--conn-json <json>", 'e.g. {"conn_type": "http", "host": "example.com"}')
    .option("--conn-type <type>")
    .option("--conn-host <host>")
    .option("--conn-login <login>")
    .option("--conn-password <password>")
    .option("--conn-schema <schema>")
    .option("--conn-port <port>")
    .option("--conn-extra <json>", "a JSON object")
    .option("--conn-description <text>")
    .action((connId: string, opts: AddOptions) =>
      withContext(async (ctx) => {
        const conn = fromOptions(connId, opts);
        const store = connectionStore(await ctx.database(), ctx.cipher());
        if (await store.exists(connId))
          throw new UpdraftError(
            "ALREADY_EXISTS",
            `connection "${connId}" already exists: delete it first, or choose another id`,
          );
        await store.set(conn);
        process.stderr.write(`Connection ${connId} added.\n`);
      }),
    );
  group
    .command("get")
    .argument("<conn_id>")
    .description("Show a connection (UPDRAFT_CONN_<ID> in the environment wins over the database)")
    .option("--reveal", "show the password and the full URI")
    .addOption(outputOption())
    .action((connId: string, opts: { reveal?: boolean; output: OutputFormat }) =>
      withContext(async (ctx) => {
        // As a task would get it: UPDRAFT_CONN_<ID> in the environment wins over the database.
        const conn = await defaultSecrets(await ctx.database(), ctx.cipher()).getConnection(connId);
        if (!conn)
          throw new NotFoundError(`connection "${connId}" does not exist: see \`updraft connections list\``);
        printRows([toRecord(conn, Boolean(opts.reveal))], opts.output, [
          "conn_id",
          "conn_type",
          "host",
          "port",
          "schema",
          "login",
          "password",
          "extra",
        ]);
      }),
    );
  group
    .command("test")
    .argument("<conn_id>")
    .description(
      'Test a connection with its type\'s test (needs [core] test_connection = "Enabled", as Airflow)',
    )
    .addOption(outputOption())
    .action((connId: string, opts: { output: OutputFormat }) =>
      withContext(async (ctx) => {
        // The test connects from this process: the administrator decides whether that is allowed.
        if (ctx.config.values.core.test_connection.toLowerCase() !== "enabled")
          throw new InvalidInputError(
            'Testing connections is disabled: an administrator can enable it with [core] test_connection = "Enabled"',
          );
        const conn = await defaultSecrets(await ctx.database(), ctx.cipher()).getConnection(connId);
        if (!conn)
          throw new NotFoundError(`connection "${connId}" does not exist: see \`updraft connections list\``);
        const result = await testConnectionOf({ ...conn, extra: extraDejson(conn) });
        printRows([{ conn_id: connId, ...result }], opts.output, ["conn_id", "status", "message"]);
        if (!result.status) process.exitCode = 1;
      }),
    );
  group
    .command("list")
    .description("List connections (passwords are masked)")
    .addOption(outputOption())
    .action((opts: { output: OutputFormat }) =>
      withContext(async (ctx) => {
        const conns = await connectionStore(await ctx.database(), ctx.cipher()).list();
        printRows(
          conns.map((c) => toRecord(c, false)),
          opts.output,
          ["conn_id", "conn_type", "description", "host", "port", "schema", "login"],
        );
      }),
    );
  group
    .command("delete")
    .argument("<conn_id>")
    .description("Delete a connection")
    .action((connId: string) =>
      withContext(async (ctx) => {
        await connectionStore(await ctx.database(), ctx.cipher()).delete(connId);
        process.stderr.write(`Connection ${connId} deleted.\n`);
      }),
    );
  group
    .command("import")
    .argument(
      "<file>",
      ".json or .yaml ({conn_id: {conn_type, host, ...} or URI}) or .env (CONN_ID=URI lines)",
    )
    .description("Add connections from a file")
    .option("--overwrite", "replace connections that exist (default: skip them)")
    .action((file: string, opts: { overwrite?: boolean }) =>
      withContext(async (ctx) => {
        const conns = readConnectionsFile(file);
        const store = connectionStore(await ctx.database(), ctx.cipher());
        const report = progressReporter("Importing connections");
        let added = 0;
        for (const [i, conn] of conns.entries()) {
          if (opts.overwrite || !(await store.exists(conn.connId))) {
            await store.set(conn);
            added++;
          } else process.stderr.write(`Skipped ${conn.connId}: it exists (use --overwrite)\n`);
          report(i + 1, conns.length, conn.connId);
        }
        process.stdout.write(`${added} of ${conns.length} connection(s) imported from ${file}.\n`);
      }),
    );
  group
    .command("export")
    .argument("<file>", "where to write ('-' for stdout)")
    .description("Write every connection to a file (passwords in clear: protect the file)")
    .addOption(
      new Option("--format <format>", "default: from the file's extension, else json").choices([
        "json",
        "yaml",
        "env",
      ]),
    )
    .action((file: string, opts: { format?: "json" | "yaml" | "env" }) =>
      withContext(async (ctx) => {
        const conns = await connectionStore(await ctx.database(), ctx.cipher()).list();
        const format =
          opts.format ??
          ({ ".yaml": "yaml", ".yml": "yaml", ".env": "env" } as const)[extname(file)] ??
          "json";
        const body = Object.fromEntries(conns.map((c) => [c.connId, toExport(c)]));
        const text =
          format === "env"
            ? conns.map((c) => `${c.connId}=${connectionToUri(c)}`).join("\n") + "\n"
            : format === "yaml"
              ? toYaml(body)
              : JSON.stringify(body, null, 2) + "\n";
        if (file === "-") process.stdout.write(text);
        else {
          writeFileSync(file, text, { mode: 0o600 });
          process.stderr.write(`${conns.length} connection(s) exported to ${file}.\n`);
        }
      }),
    );
}

function readConnectionsFile(file: string): Connection[] {
  const text = readFileSync(file, "utf8");
  if (extname(file) === ".env") {
    return text
      .split("\n")
      .map((line) => line.trim())
      .filter((line) => line && !line.startsWith("#"))
      .map((line) => {
        const eq = line.indexOf("=");
        if (eq < 1) throw new InvalidInputError(`${file}: "${line}" is not CONN_ID=URI`);
        return parseConnectionUri(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
      });
  }
  let body: unknown;
  try {
    body = /\.ya?ml$/.test(file) ? parseYaml(text) : JSON.parse(text);
  } catch (error) {
    throw new InvalidInputError(`${file} could not be read: ${(error as Error).message}`);
  }
  if (!body || typeof body !== "object" || Array.isArray(body))
    throw new InvalidInputError(`${file} must map connection ids to connections`);
  return Object.entries(body).map(([connId, value]) =>
    typeof value === "string"
      ? parseConnectionUri(connId, value)
      : parseConnectionJson(connId, JSON.stringify(value)),
  );
}
