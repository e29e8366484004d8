/**
 * `updraft providers [list]|get|operators|hooks|sensors|connections` (Airflow's `airflow providers`):
 * what is installed, Updraft's own provider and the DAGs project's packages that declare one. Reads
 * the configuration's DAGs folder; needs no database.
 */
import type { Command } from "commander";
import { loadConfig } from "../../../config/load.ts";
import { NotFoundError } from "../../../core/errors.ts";
import { listProviders, allConnectionTypes, type Provider } from "../../../providers/providers.ts";
import { outputOption, printRecord, printRows, type OutputFormat } from "../../output.ts";

const providers = () => listProviders(loadConfig().values.core.dags_folder);

/** One row per name a provider brings (operators, hooks, ...). */
async function itemRows(kind: "operators" | "hooks" | "sensors" | "notifiers") {
  return (await providers()).flatMap((p) => p[kind].map((name) => ({ name, package_name: p.package_name })));
}

function listRow(p: Provider) {
  return {
    package_name: p.package_name,
    description: p.error ? `${p.description} (not loaded: ${p.error})` : p.description,
    version: p.version,
  };
}

/** The output format: `-o` may be given before or after the subcommand (the group holds the option). */
const formatOf = (command: Command): OutputFormat =>
  (command.optsWithGlobals() as { output: OutputFormat }).output;

async function list(_opts: unknown, command: Command): Promise<void> {
  printRows((await providers()).map(listRow), formatOf(command), ["package_name", "description", "version"]);
}

export function register(program: Command): void {
  const group = program
    .command("providers")
    .description(
      "List the installed providers: Updraft's own and the DAGs project's npm packages that declare one",
    )
    .addOption(outputOption())
    .action(list);
  group.command("list").description("List the installed providers").action(list);
  group
    .command("get")
    .argument("<package>", "the provider's package name")
    .description("Show one provider and what it brings")
    .action(async (name: string, _opts: unknown, command: Command) => {
      const found = (await providers()).find((p) => p.package_name === name);
      if (!found)
        throw new NotFoundError(`no provider "${name}" is installed: see \`updraft providers list\``);
      const { package_name, name: title, description, version, source, error, ...brings } = found;
      printRecord(
        {
          package_name,
          name: title,
          description,
          version,
          source,
          ...(error ? { error } : {}),
          ...Object.fromEntries(Object.entries(brings).map(([k, v]) => [k, (v as string[]).join(", ")])),
        },
        formatOf(command),
      );
    });
  for (const kind of ["operators", "hooks", "sensors", "notifiers"] as const)
    group
      .command(kind)
      .description(`List the ${kind} the providers bring`)
      .action(async (_opts: unknown, command: Command) =>
        printRows(await itemRows(kind), formatOf(command), ["name", "package_name"]),
      );
  group
    .command("connections")
    .description("List the connection types: their fields, secret extras and whether they can be tested")
    .action(async (_opts: unknown, command: Command) => {
      const types = await allConnectionTypes(loadConfig().values.core.dags_folder);
      printRows(
        types.map((t) => ({
          connection_type: t.connType,
          label: t.label,
          hook: t.hook ?? "",
          default_port: t.defaultPort ?? "",
          extra_fields: (t.extraFields ?? [])
            .map((f) => (f.secret ? `${f.name} (secret)` : f.name))
            .join(", "),
          testable: typeof t.test === "function",
          package_name: t.provider ?? "",
        })),
        formatOf(command),
        ["connection_type", "label", "hook", "default_port", "extra_fields", "testable", "package_name"],
      );
    });
}
