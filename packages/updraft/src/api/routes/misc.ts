/**
 * Jobs (the services' rows in table job), the configuration (only when [api] expose_config is on,
 * sensitive options hidden), the installed providers, and what Updraft does not have: plugins
 * answer as Airflow does when there are none (empty lists). Assets are in ./assets.ts.
 */
import { sql } from "kysely";
import type { ApiContext } from "../app.ts";
import { forbidden, HttpError, notFound } from "../errors.ts";
import type { components } from "../generated/airflow-v2.ts";
import { applyOrder, countTotal, paging, rangeOf } from "../paging.ts";
import { jobResponse, withoutNullFields } from "./admin-common.ts";
import { listProviders } from "../../providers/providers.ts";

type Config = components["schemas"]["Config"];

const JOB_ORDER = {
  id: "id",
  state: "state",
  job_type: "job_type",
  start_date: "start_date",
  end_date: "end_date",
  latest_heartbeat: "latest_heartbeat",
  hostname: "hostname",
};
/** Job fields Updraft keeps no value for (always null). */
const NULL_JOB_FIELDS = ["dag_id", "executor_class", "unixname"];

const HIDDEN = "< hidden >";
export const CONFIG_NOT_EXPOSED =
  "Your Updraft administrator chose not to expose the configuration, most likely for security reasons. Set [api] expose_config = true in updraft.toml to expose it.";

/** Airflow's Accept handling for the config: JSON (also for any type) or text/plain, else 406. */
function wantsText(accept: string | undefined): boolean {
  const value = (accept ?? "*/*").trim() || "*/*";
  if (value.startsWith("*/*") || value.startsWith("application/json")) return false;
  if (value.startsWith("text/plain")) return true;
  throw new HttpError(406, "Only application/json or text/plain is supported");
}

const configText = (config: Config) =>
  config.sections
    .map((s) => `[${s.name}]\n${s.options.map((o) => `${o.key} = ${String(o.value)}`).join("\n")}\n`)
    .join("\n");

export function registerMiscRoutes(ctx: ApiContext): void {
  const { db } = ctx.database;

  ctx.route("get_jobs", async ({ query }) => {
    let qb = db.selectFrom("job").selectAll();
    if (query.job_type) qb = qb.where("job_type", "=", query.job_type);
    if (query.job_state) qb = qb.where("state", "=", query.job_state);
    if (query.hostname) qb = qb.where("hostname", "=", query.hostname);
    // Updraft records no executor class: a filter on one matches no job.
    if (query.executor_class) qb = qb.where(sql<boolean>`1 = 0`);
    for (const [op, value] of rangeOf(query, "start_date")) qb = qb.where("start_date", op, value);
    for (const [op, value] of rangeOf(query, "end_date")) qb = qb.where("end_date", op, value);
    if (query.is_alive !== undefined && query.is_alive !== null) {
      // Alive: running and beating within the heartbeat timeout (as get_health decides).
      const since = new Date(
        Date.parse(ctx.now()) - ctx.config.values.scheduler.task_heartbeat_timeout * 1000,
      ).toISOString();
      qb = query.is_alive
        ? qb.where("state", "=", "running").where("latest_heartbeat", ">=", since)
        : qb.where((eb) => eb.or([eb("state", "!=", "running"), eb("latest_heartbeat", "<", since)]));
    }
    const total = await countTotal(db, qb);
    const { limit, offset } = paging(query);
    const rows = await applyOrder(
      qb,
      withoutNullFields(query.order_by, NULL_JOB_FIELDS),
      JOB_ORDER,
      "id",
      ["id"],
      ctx.database,
    )
      .limit(limit)
      .offset(offset)
      .execute();
    return { jobs: rows.map(jobResponse), total_entries: total };
  });

  /** The configuration as Airflow's Config, sensitive values hidden; one section when asked. */
  function config(section?: string | null, option?: string): Config {
    if (!ctx.config.values.api.expose_config) throw forbidden(CONFIG_NOT_EXPOSED);
    const sections = new Map<string, { key: string; value: string }[]>();
    for (const e of ctx.config.entries) {
      if (!sections.has(e.section)) sections.set(e.section, []);
      const value = (ctx.config.values as unknown as Record<string, Record<string, unknown>>)[e.section]?.[
        e.key
      ];
      sections.get(e.section)!.push({ key: e.key, value: e.sensitive ? HIDDEN : String(value ?? e.value) });
    }
    if (section !== undefined && section !== null && !sections.has(section))
      throw notFound(`Section ${section} not found.`);
    let out = [...sections].map(([name, options]) => ({ name, options }));
    if (section !== undefined && section !== null) out = out.filter((s) => s.name === section);
    if (option !== undefined) {
      out = out.map((s) => ({ ...s, options: s.options.filter((o) => o.key === option) }));
      if (!out[0]?.options.length) throw notFound(`Option [${section}/${option}] not found.`);
    }
    return { sections: out };
  }

  ctx.route("get_config", async ({ query, raw, reply }) => {
    const text = wantsText(raw.headers.accept);
    const body = config(query.section);
    if (!text) return body;
    void reply.code(200).type("text/plain; charset=utf-8").send(configText(body));
  });

  ctx.route("get_config_value", async ({ params, raw, reply }) => {
    const text = wantsText(raw.headers.accept);
    const body = config(params.section, params.option);
    if (!text) return body;
    void reply.code(200).type("text/plain; charset=utf-8").send(configText(body));
  });

  ctx.route("get_plugins", async () => ({ plugins: [], total_entries: 0 }));
  ctx.route("import_errors", async () => ({ import_errors: [], total_entries: 0 }));
  // Updraft's own provider, then the DAGs project's packages that declare one (providers/providers.ts).
  ctx.route("get_providers", async ({ query }) => {
    const all = await listProviders(ctx.config.values.core.dags_folder);
    const { limit, offset } = paging(query);
    return {
      providers: all.slice(offset, offset + limit).map((p) => ({
        package_name: p.package_name,
        description: p.description,
        version: p.version,
        documentation_url: null,
      })),
      total_entries: all.length,
    };
  });
}
