import { statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { Option, type Command } from "commander";
import { formatTypeDiagnostic, type TypeCheckResult } from "../../../dag-processing/type-diagnostics.ts";
import { withContext } from "../../context.ts";

export function register(dags: Command): void {
  dags
    .command("check")
    .argument("[paths...]", "DAG files or folders (default: the DAGs folder)")
    .description(
      "Type-check DAG files with TypeScript (the project's tsconfig.json, else Updraft's defaults); exit 1 on type errors",
    )
    .addOption(
      new Option("-o, --output <format>", "text: file:line:col: message lines; json: the result as data")
        .choices(["text", "json"])
        .default("text"),
    )
    .action((paths: string[], opts: { output: "text" | "json" }) =>
      withContext(async (ctx) => {
        const dagsFolder = ctx.config.values.core.dags_folder;
        const targets = paths.length ? paths : [dagsFolder];
        // Loaded here, not with the CLI: TypeScript takes a few hundred ms to load.
        const { typeCheck, typeCheckTargets } = await import("../../../dag-processing/type-check.ts");
        const result = typeCheck(typeCheckTargets(targets), projectDir(targets[0]!));
        if (opts.output === "json") process.stdout.write(JSON.stringify(result, null, 2) + "\n");
        else printResult(result, [process.cwd(), dagsFolder]);
        if (result.diagnostics.length > 0) process.exitCode = 1;
      }),
    );
}

/** Where the tsconfig.json search starts: the folder given, or the folder of the file given. */
function projectDir(target: string): string {
  const path = resolve(target);
  return statSync(path).isDirectory() ? path : dirname(path);
}

function printResult(result: TypeCheckResult, bases: string[]): void {
  for (const diagnostic of result.diagnostics)
    process.stdout.write(formatTypeDiagnostic(diagnostic, ...bases) + "\n");
  const errors = result.diagnostics.length;
  const files = new Set(result.diagnostics.map((d) => d.path ?? "")).size;
  const seconds = (result.durationMs / 1000).toFixed(2);
  const using = result.configFile ? `, ${result.configFile}` : "";
  process.stdout.write(
    `${errors} error${errors === 1 ? "" : "s"} in ${files} file${files === 1 ? "" : "s"} (${result.checked.length} files checked in ${seconds} s${using})\n`,
  );
}
