/** `updraft pools set|get|list|delete`. */
import type { Command } from "commander";
import { NotFoundError } from "../../../core/errors.ts";
import { InvalidInputError } from "../../../core/errors.ts";
import { poolStore, type Pool } from "../../../storage/pools.ts";
import { withContext } from "../../context.ts";
import { outputOption, printRows, type OutputFormat } from "../../output.ts";

const COLUMNS = ["pool", "slots", "description", "include_deferred"];
const row = (p: Pool) => ({
  pool: p.name,
  slots: p.slots,
  description: p.description,
  include_deferred: p.includeDeferred,
});

export function register(program: Command): void {
  const group = program
    .command("pools")
    .description("Manage pools: slot budgets that limit how many tasks of a kind run at once");
  group
    .command("set")
    .argument("<name>")
    .argument("<slots>", "how many slots (-1 for unlimited)")
    .argument("[description]")
    .option("--include-deferred", "deferred tasks take slots too")
    .addOption(outputOption())
    .description("Create or update a pool")
    .action(
      (
        name: string,
        slots: string,
        description: string | undefined,
        opts: { includeDeferred?: boolean; output: OutputFormat },
      ) =>
        withContext(async (ctx) => {
          if (!/^-?\d+$/.test(slots))
            throw new InvalidInputError(`pool "${name}": slots must be a whole number, got "${slots}"`);
          const store = poolStore(await ctx.database());
          await store.set({ name, slots: Number(slots), description, includeDeferred: opts.includeDeferred });
          printRows([row((await store.get(name))!)], opts.output, COLUMNS);
        }),
    );
  group
    .command("get")
    .argument("<name>")
    .addOption(outputOption())
    .description("Show a pool")
    .action((name: string, opts: { output: OutputFormat }) =>
      withContext(async (ctx) => {
        const pool = await poolStore(await ctx.database()).get(name);
        if (!pool) throw new NotFoundError(`pool "${name}" does not exist: see \`updraft pools list\``);
        printRows([row(pool)], opts.output, COLUMNS);
      }),
    );
  group
    .command("list")
    .addOption(outputOption())
    .description("List pools")
    .action((opts: { output: OutputFormat }) =>
      withContext(async (ctx) =>
        printRows((await poolStore(await ctx.database()).list()).map(row), opts.output, COLUMNS),
      ),
    );
  group
    .command("delete")
    .argument("<name>")
    .description("Delete a pool")
    .action((name: string) =>
      withContext(async (ctx) => {
        await poolStore(await ctx.database()).delete(name);
        process.stderr.write(`Pool ${name} deleted.\n`);
      }),
    );
}
