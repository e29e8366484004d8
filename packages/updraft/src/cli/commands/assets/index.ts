/** `updraft assets list|details` (Airflow 3's `airflow assets list|details`), from operations/assets.ts. */
import type { Command } from "commander";
import { InvalidInputError } from "../../../core/errors.ts";
import { findAsset, listAssets } from "../../../operations/assets.ts";
import { withContext } from "../../context.ts";
import { outputOption, printRecord, printRows, type OutputFormat } from "../../output.ts";

const COLUMNS = ["id", "name", "uri", "group", "extra", "last_event"];

export function register(program: Command): void {
  const group = program
    .command("assets")
    .description("Look at assets: what tasks update and what DAGs are scheduled on (data-aware scheduling)");
  group
    .command("list")
    .option("--name <name>", "only assets whose name contains this")
    .option("--uri <uri>", "only assets whose URI contains this")
    .addOption(outputOption())
    .description("List assets, with when each was last updated")
    .action((opts: { name?: string; uri?: string; output: OutputFormat }) =>
      withContext(async (ctx) => {
        const { assets } = await listAssets(await ctx.database(), {
          limit: 100_000,
          offset: 0,
          namePattern: opts.name,
          uriPattern: opts.uri,
        });
        const rows = assets.map((a) => ({
          id: a.id,
          name: a.name,
          uri: a.uri,
          group: a.group,
          extra: JSON.stringify(a.extra),
          last_event: a.last_asset_event?.timestamp ?? null,
        }));
        printRows(rows, opts.output, COLUMNS);
      }),
    );
  group
    .command("details")
    .option("--name <name>", "the asset's name")
    .option("--uri <uri>", "the asset's URI")
    .addOption(outputOption())
    .description("Show one asset: its producing tasks, the DAGs scheduled on it, its last event")
    .action((opts: { name?: string; uri?: string; output: OutputFormat }) =>
      withContext(async (ctx) => {
        if (!opts.name === !opts.uri)
          throw new InvalidInputError("give exactly one of --name and --uri, e.g. --uri s3://lake/orders");
        const asset = await findAsset(await ctx.database(), { name: opts.name, uri: opts.uri });
        const record = {
          ...asset,
          extra: JSON.stringify(asset.extra),
          scheduled_dags: asset.scheduled_dags.map((d) => d.dag_id).join(", "),
          producing_tasks: asset.producing_tasks.map((t) => `${t.dag_id}.${t.task_id}`).join(", "),
          aliases: asset.aliases.map((a) => a.name).join(", "),
          last_asset_event: asset.last_asset_event?.timestamp ?? null,
        };
        const { consuming_tasks: _c, watchers: _w, ...shown } = record;
        printRecord(
          opts.output === "table" ? shown : (asset as unknown as Record<string, unknown>),
          opts.output,
        );
      }),
    );
}
