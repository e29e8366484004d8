import { resolve } from "node:path";
import type { Command } from "commander";
import { loadConfig } from "../../config/load.ts";
import { initDagsProject } from "../../operations/init-project.ts";

export function register(program: Command): void {
  program
    .command("init")
    .description(
      "Write a DAGs project (package.json, tsconfig.json, an example DAG and its test) into a new or empty folder; it is the DAGs folder itself",
    )
    .argument("[dir]", "the folder to create; default: the configured DAGs folder ([core] dags_folder)")
    .option(
      "--sdk <spec>",
      'the dependency spec for "updraft" in package.json (default: npm:updraft-orchestrator@^<this version>, or this package\'s folder when run from a clone)',
    )
    .action((dir: string | undefined, opts: { sdk?: string }) => {
      const config = loadConfig();
      const dagsFolder = resolve(config.values.core.dags_folder);
      const made = initDagsProject({ dir: dir ?? dagsFolder, ...(opts.sdk ? { sdk: opts.sdk } : {}) });
      const out: string[] = [
        `Created a DAGs project in ${made.dir}:`,
        ...made.files.map((f) => `  ${f}`),
        "",
      ];
      out.push(`"updraft" is ${made.sdk}${made.linked ? " (linked into node_modules already)" : ""}.`);
      if (made.dir !== dagsFolder)
        out.push(
          `Updraft loads DAGs from ${dagsFolder}; to load this folder instead, set [core] dags_folder in`,
          `${config.file} or UPDRAFT__CORE__DAGS_FOLDER=${made.dir}`,
        );
      out.push(
        "",
        "Next:",
        `  cd ${made.dir}`,
        "  npm install            # for npm run check/test and your own dependencies",
        "  npm run check          # type-check every DAG (updraft dags check)",
        "  node my_first_dag.ts   # run that DAG once, here, with every task's log",
        "  updraft standalone     # scheduler, webserver and UI on http://localhost:8080",
        "",
      );
      process.stdout.write(out.join("\n"));
    });
}
