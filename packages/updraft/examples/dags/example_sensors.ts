/**
 * Sensors: tasks that wait for something. A file sensor in reschedule mode gives its worker slot back
 * between checks (its state is up_for_reschedule meanwhile); an HTTP sensor in poke mode keeps its
 * slot and checks every 2 s. With `deferrable: true` either would hand its wait to the triggerer.
 * Airflow's FileSensor and HttpSensor, with the same options camelCased (docs/sensors.md).
 */
import { bash, dag, fileSensor, httpSensor } from "updraft";

const INBOX = "/tmp/updraft_example_sensors/{{ ds }}";

export default dag(
  {
    dagId: "example_sensors",
    description: "A file sensor in reschedule mode and an HTTP sensor in poke mode.",
    schedule: null,
    tags: ["example"],
  },
  () => {
    // Something outside delivers a file a few seconds after the run starts.
    const deliver = bash("deliver", {
      command: `sleep 3 && mkdir -p ${INBOX} && echo "id,amount" > ${INBOX}/orders.csv && touch ${INBOX}/_SUCCESS`,
    });
    const delivered = fileSensor("wait_for_delivery", {
      filepath: `${INBOX}/_SUCCESS`,
      mode: "reschedule",
      pokeInterval: "1s",
      timeout: "5m",
    });
    // The webserver's health (standalone serves it on 127.0.0.1:8080; give another with the run's
    // conf: {"health_url": "..."}). Nothing answering: skipped after 10 s (softFail), not failed.
    const apiUp = httpSensor("wait_for_api", {
      endpoint: "{{ dag_run.conf.get('health_url', 'http://127.0.0.1:8080/api/v2/monitor/health') }}",
      responseCheck: (response) => response.status === 200,
      mode: "poke",
      pokeInterval: "2s",
      timeout: "10s",
      softFail: true,
    });
    const load = bash("load", {
      command: `wc -l ${INBOX}/orders.csv`,
      triggerRule: "none_failed",
    });
    deliver.before(load);
    delivered.before(load);
    apiUp.before(load);
  },
);
