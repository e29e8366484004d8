/**
 * Sensors (Airflow's BaseSensorOperator): tasks that wait for something by checking it now and then.
 * `deliver` drops a flag file a few seconds after it ends; two sensors wait for it:
 *  - `wait_in_slot` (mode "poke") keeps its worker slot and checks every second;
 *  - `wait_rescheduled` (mode "reschedule") gives its slot back between checks: meanwhile its state is
 *    up_for_reschedule (turquoise in the UI), and each check is the same try.
 * Past `timeout` a sensor fails without retries (with `softFail: true` it is skipped instead).
 */
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bash, dag, sensor } from "updraft";

const flag = (runId: string) => join(tmpdir(), `example_sensor_modes_${runId.replace(/[^\w-]/g, "_")}.flag`);

export default dag(
  {
    dagId: "example_sensor_modes",
    description: "A poke-mode and a reschedule-mode sensor waiting for a file.",
    schedule: null,
    tags: ["example"],
  },
  () => {
    const deliver = bash("deliver", {
      // In the background: the task ends at once, the file comes 3 s later.
      command:
        'f="${TMPDIR:-/tmp}/example_sensor_modes_$(echo "{{ run_id }}" | sed "s/[^A-Za-z0-9_-]/_/g").flag"; ' +
        '(sleep 3; touch "$f") > /dev/null 2>&1 & echo "the flag comes in 3 s: $f"',
    });
    const poke = sensor("wait_in_slot", (context) => existsSync(flag(context.run_id)), {
      mode: "poke",
      pokeInterval: "1s",
      timeout: "5m",
    });
    const reschedule = sensor("wait_rescheduled", (context) => existsSync(flag(context.run_id)), {
      mode: "reschedule",
      pokeInterval: "2s",
      timeout: "5m",
    });
    const done = bash("clean_up", {
      command:
        'rm -f "${TMPDIR:-/tmp}/example_sensor_modes_$(echo "{{ run_id }}" | sed "s/[^A-Za-z0-9_-]/_/g").flag"',
      triggerRule: "all_done",
    });
    deliver.before([poke, reschedule]);
    done.after([poke, reschedule]);
  },
);
