/**
 * More connection pools on the private database a test got from `forEachDatabase`: each stands for
 * another scheduler process (its own pool, its own connections), for tests of schedulers racing.
 */
import { sql } from "kysely";
import { openDatabase, type Database } from "../storage/database.ts";
import { MYSQL_URL, POSTGRES_URL } from "./databases.ts";

/** Opens `count` more Databases on the same data as `database`; close them with `closeAll`. */
export async function openSiblings(database: Database, count: number, poolSize = 2): Promise<Database[]> {
  const url = await urlOf(database);
  const schema = database.adapter.name === "postgres" ? await currentSchema(database) : undefined;
  return Array.from({ length: count }, () => openDatabase(url, { postgresSchema: schema, poolSize }));
}

export async function closeAll(databases: Database[]): Promise<void> {
  await Promise.all(databases.map((d) => d.close()));
}

async function urlOf(database: Database): Promise<string> {
  switch (database.adapter.name) {
    case "postgres":
      return POSTGRES_URL;
    case "mysql": {
      const { rows } = await sql<{ name: string }>`select database() as name`.execute(database.db);
      return Object.assign(new URL(MYSQL_URL), { pathname: `/${rows[0]!.name}` }).toString();
    }
    case "sqlite": {
      const { rows } = await sql<{
        file: string;
      }>`select file from pragma_database_list where name = 'main'`.execute(database.db);
      return `sqlite:///${rows[0]!.file}`;
    }
  }
}

async function currentSchema(database: Database): Promise<string> {
  const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(database.db);
  return rows[0]!.schema;
}
