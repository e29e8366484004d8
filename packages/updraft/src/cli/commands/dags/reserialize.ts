import type { Command } from "commander";
import { withContext } from "../../context.ts";
import { syncDags } from "../../dag-sync.ts";

export function register(dags: Command): void {
  dags
    .command("reserialize")
    .description("Load every DAG file again, changed or not, and store the result")
    .action(() =>
      withContext(async (ctx) => {
        const s = await syncDags(ctx, { force: true });
        process.stdout.write(
          `Parsed ${s.parsed} file(s) in ${(s.durationMs / 1000).toFixed(2)}s: ${s.dags} DAG(s), ${s.importErrors} import error(s)` +
            (s.deactivated.length ? `, ${s.deactivated.length} file(s) gone` : "") +
            ".\n",
        );
      }),
    );
}
