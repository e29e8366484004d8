/**
 * The three real databases every storage test runs against. PostgreSQL and MariaDB/MySQL are found
 * through UPDRAFT_TEST_POSTGRES_URL and UPDRAFT_TEST_MYSQL_URL (defaulting to the local services).
 * One that cannot be reached is skipped with a loud line, except under CI=true, where it fails.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, after, before } from "node:test";
import { createConnection } from "mysql2/promise";
import pg from "pg";
import { openDatabase, type Database, type DatabaseOptions } from "../storage/database.ts";
import { migrateDatabase } from "../storage/migrate.ts";

export const POSTGRES_URL =
  process.env.UPDRAFT_TEST_POSTGRES_URL ?? "postgresql://postgres@127.0.0.1:5432/test";
export const MYSQL_URL = process.env.UPDRAFT_TEST_MYSQL_URL ?? "mysql://root@127.0.0.1:3306/test";

export interface TestDatabase {
  name: "sqlite" | "postgres" | "mysql";
  /** Opens a fresh, migrated, private database (a file, a schema, a database). */
  create(): Promise<{ database: Database; url: string; drop(): Promise<void> }>;
}

/** How each test database was opened, so a child process can open the same one. */
const opened = new WeakMap<Database, { url: string; options: DatabaseOptions }>();
export function openedAs(database: Database): { url: string; options: DatabaseOptions } {
  const how = opened.get(database);
  if (!how) throw new Error("not a test database from forEachDatabase");
  return how;
}

/** The URL a child process uses for this test database (PostgreSQL: its schema in the URL). */
export function childUrl(database: Database): string {
  const { url, options } = openedAs(database);
  if (!options.postgresSchema) return url;
  const u = new URL(url);
  u.searchParams.set("options", `-c search_path=${options.postgresSchema}`);
  return u.toString();
}

let counter = 0;
const uniqueName = () => `updraft_t_${process.pid}_${Date.now().toString(36)}_${counter++}`;

const sqlite: TestDatabase = {
  name: "sqlite",
  async create() {
    const dir = mkdtempSync(join(tmpdir(), "updraft-db-"));
    const url = `sqlite:///${join(dir, "updraft.db")}`;
    const database = openDatabase(url);
    opened.set(database, { url, options: {} });
    await migrateDatabase(database);
    return { database, url, drop: async () => rmSync(dir, { recursive: true, force: true }) };
  },
};

const postgres: TestDatabase = {
  name: "postgres",
  async create() {
    const schema = uniqueName();
    const database = openDatabase(POSTGRES_URL, { postgresSchema: schema, poolSize: 4 });
    opened.set(database, { url: POSTGRES_URL, options: { postgresSchema: schema } });
    await migrateDatabase(database);
    return {
      database,
      url: POSTGRES_URL,
      drop: async () => {
        const client = new pg.Client(POSTGRES_URL);
        await client.connect();
        await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        await client.end();
      },
    };
  },
};

const mysql: TestDatabase = {
  name: "mysql",
  async create() {
    const name = uniqueName();
    const admin = await createConnection(MYSQL_URL);
    await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
    await admin.end();
    const url = Object.assign(new URL(MYSQL_URL), { pathname: `/${name}` }).toString();
    const database = openDatabase(url, { poolSize: 4 });
    opened.set(database, { url, options: {} });
    await migrateDatabase(database);
    return {
      database,
      url,
      drop: async () => {
        const conn = await createConnection(MYSQL_URL);
        await conn.query(`DROP DATABASE IF EXISTS \`${name}\``);
        await conn.end();
      },
    };
  },
};

async function reachable(db: TestDatabase): Promise<string | null> {
  try {
    if (db.name === "postgres") {
      const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 3000 });
      await client.connect();
      await client.end();
    } else if (db.name === "mysql") {
      const conn = await createConnection({ uri: MYSQL_URL, connectTimeout: 3000 });
      await conn.end();
    }
    return null;
  } catch (error) {
    return (error as Error).message || String(error);
  }
}

// Probed once per test file (each runs in its own process) before any suite is declared, so an
// unreachable database skips its suites instead of failing them.
const unreachable = new Map<string, string | null>(
  await Promise.all([sqlite, postgres, mysql].map(async (db) => [db.name, await reachable(db)] as const)),
);
for (const [name, reason] of unreachable) {
  if (!reason) continue;
  const line = `${name} is unreachable (${reason}): its storage tests are SKIPPED`;
  if (process.env.CI === "true")
    throw new Error(`CI=true and ${line.replace("are SKIPPED", "cannot be skipped")}`);
  console.error(`\n!!! ${line}. Start it or set UPDRAFT_TEST_${name.toUpperCase()}_URL.\n`);
}

/**
 * Runs `suite` once per database, with a fresh migrated database for each. Use it for every storage
 * test: the same assertions against SQLite, PostgreSQL and MySQL/MariaDB.
 */
export function forEachDatabase(
  title: string,
  suite: (get: () => Database) => void,
  options: { only?: TestDatabase["name"][] } = {},
): void {
  for (const target of [sqlite, postgres, mysql].filter(
    (t) => !options.only || options.only.includes(t.name),
  )) {
    const reason = unreachable.get(target.name);
    describe(
      `${title} [${target.name}]`,
      { skip: reason ? `${target.name} unreachable: ${reason}` : false },
      () => {
        let handle: Awaited<ReturnType<TestDatabase["create"]>> | undefined;
        before(async () => {
          handle = await target.create();
        });
        after(async () => {
          if (handle) {
            await handle.database.close();
            await handle.drop();
          }
        });
        suite(() => {
          if (!handle) throw new Error(`${target.name} test database was not created`);
          return handle.database;
        });
      },
    );
  }
}
