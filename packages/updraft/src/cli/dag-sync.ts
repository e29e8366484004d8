/** Commands that read DAGs first bring the database up to date with the DAG files (a quick pass). */
import { processDagFiles, type ProcessSummary } from "../dag-processing/processor.ts";
import type { CliContext } from "./context.ts";
import { progressReporter } from "./progress.ts";

export async function syncDags(ctx: CliContext, options: { force?: boolean } = {}): Promise<ProcessSummary> {
  const database = await ctx.database();
  const report = progressReporter("Parsing DAG files");
  const summary = await processDagFiles(ctx.config, database, {
    force: options.force,
    onProgress: (p) => report(p.done, p.total, p.fileloc),
  });
  if (summary.importErrors > 0) {
    process.stderr.write(
      `${summary.importErrors} import error(s): see \`updraft dags list-import-errors\`\n`,
    );
  }
  return summary;
}
