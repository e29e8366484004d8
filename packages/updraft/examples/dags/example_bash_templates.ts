/**
 * Bash tasks with templates: the command, env and cwd are rendered per run, with Airflow's
 * variables ({{ ds }}, {{ ds_nodash }}, {{ run_id }}, {{ params.* }}) and macros
 * ({{ macros.ds_add(ds, 7) }}). Exit code 0 is success, 99 skipped, anything else failed.
 */
import { bash, dag } from "updraft";

export default dag(
  {
    dagId: "example_bash_templates",
    description: "Bash commands rendered with the run's dates, params and macros.",
    schedule: "@daily",
    startDate: "2025-01-01",
    catchup: false,
    tags: ["example"],
    params: { greeting: "hello" },
  },
  () => {
    const dates = bash("print_dates", {
      command: 'echo "logical date {{ ds }} ({{ ds_nodash }}), a week later {{ macros.ds_add(ds, 7) }}"',
    });
    const env = bash("use_env", {
      command: 'echo "$GREETING from $RUN_ID, partition $PARTITION"',
      env: { GREETING: "{{ params.greeting }}", RUN_ID: "{{ run_id }}", PARTITION: "dt={{ ds }}" },
    });
    const clock = bash("print_clock", { command: "date -u && sleep 1 && echo done", cwd: "/tmp" });
    dates.before(env).before(clock);
  },
);
