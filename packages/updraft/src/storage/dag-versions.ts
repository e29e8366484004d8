/**
 * DAG versions (Airflow 3's dag_version): each change of a DAG's serialized form is a new numbered
 * version with the file's source; an unchanged form keeps the newest. Written by the DAG processor in
 * the transaction that stores the file (dags.ts), read by runs (the version they were created with)
 * and by the API and UI (old graphs and code). Concurrency and retention: ADR.md S16.
 */
import { createHash, randomUUID } from "node:crypto";
import type { Kysely, Transaction } from "kysely";
import { SerializedDagSchema, type SerializedDag } from "../core/serialized.ts";
import type { Database } from "./database.ts";
import type { DagVersionRow, Tables } from "./schema.ts";

type Db = Kysely<Tables> | Transaction<Tables>;

export interface VersionInput {
  dag: SerializedDag;
  hash: string;
  fileloc: string;
  /** The file's text; undefined when the caller does not have it (tests, old callers). */
  source: string | undefined;
  now: string;
}

export function sourceHash(source: string): string {
  return createHash("sha256").update(source).digest("hex");
}

/** The newest version of a DAG, or undefined before its first. */
export function latestVersion(db: Db, dagId: string) {
  return db
    .selectFrom("dag_version")
    .select(["id", "version_number", "dag_hash", "source_hash"])
    .where("dag_id", "=", dagId)
    .orderBy("version_number", "desc")
    .limit(1)
    .executeTakeFirst();
}

/**
 * Records `dag` as the DAG's newest version, inside the caller's transaction; returns its id. A form
 * equal to the newest version's is no new version: the newest keeps its number and takes the file's
 * new text (a comment or a task body changed, which the form does not show), as Airflow's
 * DagCode.update_source_code. Two writers storing the same change both try the next number: the
 * unique (dag_id, version_number) key lets one in, and the other's file transaction runs again and
 * finds the version there.
 */
export async function recordVersion(trx: Db, v: VersionInput): Promise<string> {
  const newest = await latestVersion(trx, v.dag.dagId);
  const code = v.source === undefined ? {} : { source_code: v.source, source_hash: sourceHash(v.source) };
  if (newest && newest.dag_hash === v.hash) {
    if (code.source_hash !== undefined && code.source_hash !== newest.source_hash)
      await trx.updateTable("dag_version").set(code).where("id", "=", newest.id).execute();
    return newest.id;
  }
  const id = randomUUID();
  await trx
    .insertInto("dag_version")
    .values({
      id,
      dag_id: v.dag.dagId,
      version_number: (newest?.version_number ?? 0) + 1,
      dag_hash: v.hash,
      fileloc: v.fileloc,
      data: JSON.stringify(v.dag),
      source_code: code.source_code ?? null,
      source_hash: code.source_hash ?? null,
      created_at: v.now,
    })
    .execute();
  return id;
}

/** The version a run created from the form with `hash` points at: the newest with that form. */
export async function versionIdForHash(db: Db, dagId: string, hash: string): Promise<string | null> {
  const row = await db
    .selectFrom("dag_version")
    .select("id")
    .where("dag_id", "=", dagId)
    .where("dag_hash", "=", hash)
    .orderBy("version_number", "desc")
    .limit(1)
    .executeTakeFirst();
  return row?.id ?? null;
}

/** A version's metadata, without the (large) form and source. */
export type DagVersionMeta = Omit<DagVersionRow, "data" | "source_code">;
const META = ["id", "dag_id", "version_number", "dag_hash", "fileloc", "source_hash", "created_at"] as const;

/** Parsed forms by hash (immutable per hash), shared by every store in the process. */
const parsedForms = new Map<string, SerializedDag>();

export function dagVersionStore(database: Database) {
  const { db } = database;
  return {
    /** One version by number; undefined when the DAG has no such version. */
    async get(dagId: string, versionNumber: number): Promise<DagVersionMeta | undefined> {
      return db
        .selectFrom("dag_version")
        .select(META)
        .where("dag_id", "=", dagId)
        .where("version_number", "=", versionNumber)
        .executeTakeFirst();
    },

    /** A DAG's versions, newest first, each with how many runs were created with it. */
    async list(dagId: string): Promise<(DagVersionMeta & { runs: number })[]> {
      const rows = await db
        .selectFrom("dag_version as v")
        .leftJoin("dag_run as r", "r.created_dag_version_id", "v.id")
        .select(META.map((c) => `v.${c}` as const))
        .select((eb) => eb.fn.count<number | string>("r.id").as("runs"))
        .where("v.dag_id", "=", dagId)
        .groupBy(META.map((c) => `v.${c}` as const))
        .orderBy("v.version_number", "desc")
        .execute();
      return rows.map((r) => ({ ...r, runs: Number(r.runs) }));
    },

    /** The newest version of each DAG in `dagIds`. */
    async latest(dagIds: readonly string[]): Promise<Map<string, DagVersionMeta>> {
      const out = new Map<string, DagVersionMeta>();
      for (let i = 0; i < dagIds.length; i += 500) {
        const ids = dagIds.slice(i, i + 500);
        const rows = await db
          .selectFrom("dag_version as v")
          .select(META.map((c) => `v.${c}` as const))
          .where("v.dag_id", "in", ids)
          .where((eb) =>
            eb(
              "v.version_number",
              "=",
              eb
                .selectFrom("dag_version as w")
                .select((w) => w.fn.max("w.version_number").as("n"))
                .whereRef("w.dag_id", "=", "v.dag_id"),
            ),
          )
          .execute();
        for (const r of rows) out.set(r.dag_id, r);
      }
      return out;
    },

    /** Versions by id (runs and task instances name theirs). */
    async byIds(ids: Iterable<string | null>): Promise<Map<string, DagVersionMeta>> {
      const wanted = [...new Set([...ids].filter((id): id is string => id !== null))];
      const out = new Map<string, DagVersionMeta>();
      for (let i = 0; i < wanted.length; i += 500) {
        const rows = await db
          .selectFrom("dag_version")
          .select(META)
          .where("id", "in", wanted.slice(i, i + 500))
          .execute();
        for (const r of rows) out.set(r.id, r);
      }
      return out;
    },

    /** A version's source; undefined when there is no such version (null source: not recorded). */
    async source(dagId: string, versionNumber: number) {
      return db
        .selectFrom("dag_version")
        .select(["version_number", "source_code", "fileloc"])
        .where("dag_id", "=", dagId)
        .where("version_number", "=", versionNumber)
        .executeTakeFirst();
    },

    /** A version's serialized form, parsed once per hash. */
    async serialized(dagId: string, versionNumber: number): Promise<SerializedDag | undefined> {
      const head = await this.get(dagId, versionNumber);
      if (!head) return undefined;
      const cached = parsedForms.get(head.dag_hash);
      if (cached) return cached;
      const row = await db
        .selectFrom("dag_version")
        .select("data")
        .where("id", "=", head.id)
        .executeTakeFirst();
      if (!row) return undefined;
      const dag = SerializedDagSchema.parse(JSON.parse(row.data));
      if (parsedForms.size >= 256) parsedForms.delete(parsedForms.keys().next().value!);
      parsedForms.set(head.dag_hash, dag);
      return dag;
    },
  };
}
export type DagVersionStore = ReturnType<typeof dagVersionStore>;
