/**
 * More connection pools on the private database a test got from `forEachDatabase`: each stands for
 * another scheduler process (its own pool, its own connections), for tests of schedulers racing.
 */
import { openDatabase, type Database } from "../storage/database.ts";
import { openedAs } from "./databases.ts";

/** Opens `count` more Databases on the same data as `database`; close them with `closeAll`. */
export async function openSiblings(database: Database, count: number, poolSize = 2): Promise<Database[]> {
  const { url, options } = openedAs(database);
  return Array.from({ length: count }, () => openDatabase(url, { ...options, poolSize }));
}

export async function closeAll(databases: Database[]): Promise<void> {
  await Promise.all(databases.map((d) => d.close()));
}
