/**
 * Params and manual runs: `schedule: null` means the DAG only runs when triggered. Params give the
 * run its inputs: a plain value is the default (its type inferred), an object with `type` or
 * `default` is a full spec. A trigger's conf can override them; templates read {{ params.name }}.
 */
import { bash, dag } from "updraft";

export default dag(
  {
    dagId: "example_params",
    description: "A manually triggered DAG driven by params.",
    schedule: null,
    tags: ["example"],
    params: {
      name: "world",
      repeat: { type: "integer", default: 2, minimum: 1, maximum: 5, description: "How many greetings." },
      environment: { type: "string", default: "staging", enum: ["staging", "production"] },
      dryRun: true,
    },
  },
  () => {
    bash("greet", {
      command: 'for ((i = 1; i <= {{ params.repeat }}; i++)); do echo "hello {{ params.name }} ($i)"; done',
    }).before(
      bash("deploy", {
        command: 'echo "deploying to {{ params.environment }} (dry run: {{ params.dryRun }})"',
      }),
    );
  },
);
