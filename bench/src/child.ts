/**
 * Runs one workload on one peer in a process of its own (so memory is measured from a clean idle,
 * and a peer that crashes or hangs takes only its own row down). Prints one `@@RESULT {json}` line.
 *
 *   node src/child.ts --peer updraft-sqlite --workload chain --reps 3
 */
import { parseArgs } from "node:util";
import { PEERS } from "./peers/index.ts";
import { PARALLELISM, log } from "./util.ts";
import { measure, workloadSpec, type WorkloadName, type WorkloadOutcome } from "./workloads.ts";

const { values } = parseArgs({
  options: { peer: { type: "string" }, workload: { type: "string" }, reps: { type: "string", default: "3" } },
});
const entry = PEERS.find((p) => p.key === values.peer);
if (!entry) throw new Error(`unknown peer ${values.peer}`);
const spec = workloadSpec(values.workload as WorkloadName, Number(values.reps));

interface ChildResult {
  ok: boolean;
  error?: string;
  outcome?: WorkloadOutcome;
  how?: string;
  durable?: boolean;
}

let result: ChildResult;
let peer;
try {
  peer = await entry.load();
  const concurrency =
    spec.name === "memory"
      ? spec.graphs[0]!.shape.kind === "parallel"
        ? (spec.graphs[0]!.shape as { n: number }).n
        : PARALLELISM
      : PARALLELISM;
  log(`${entry.label} (${entry.backend}) ${spec.name}: setting up`);
  await peer.setup(spec, concurrency);
  const outcome = await measure(peer, spec);
  result = { ok: true, outcome, how: peer.how, durable: peer.durable };
} catch (error) {
  const e = error as Error;
  log(`${entry.label} (${entry.backend}) ${spec.name} FAILED: ${e?.stack ?? e}`);
  result = {
    ok: false,
    error: String(e?.message ?? e)
      .split("\n")[0]!
      .slice(0, 300),
    how: peer?.how,
    durable: peer?.durable,
  };
}
// The result first: a peer whose teardown crashes (a pool without an error listener when its
// database is dropped) must not lose the figures it produced.
process.stdout.write(`@@RESULT ${JSON.stringify(result)}\n`);
process.on("uncaughtException", (error) => {
  log(`${entry.label} teardown: ${error.message}`);
  process.exit(0);
});
try {
  await Promise.race([peer?.teardown(), new Promise((r) => setTimeout(r, 15_000))]);
} catch (error) {
  log(`${entry.label} teardown: ${error}`);
}
process.exit(0);
