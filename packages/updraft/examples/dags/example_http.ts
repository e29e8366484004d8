/**
 * HTTP calls with http() (Airflow's HttpOperator): a GET whose JSON answer is the task's XCom, a
 * responseCheck that fails the try (so retries apply) when the answer is not what the task expects,
 * and a responseFilter that pushes one field. It calls Updraft's own API, which standalone serves
 * on 127.0.0.1:8080: give another base URL with the run's conf {"api": "http://host:port"}, or point
 * the endpoints at an `http` connection instead (connId: "my_api", endpoint: "/path"). With nothing
 * answering, the first sensor is skipped after a few seconds and the calls with it.
 */
import { dag, http, httpSensor, task } from "updraft";

const API = "{{ dag_run.conf.get('api', 'http://127.0.0.1:8080') }}";

export default dag(
  {
    dagId: "example_http",
    description: "http(): a GET with a response check, a filtered answer, and a TypeScript task reading it.",
    schedule: null,
    tags: ["example"],
  },
  () => {
    const up = httpSensor("api_is_up", {
      endpoint: `${API}/api/v2/monitor/health`,
      pokeInterval: "1s",
      timeout: "3s",
      softFail: true,
    });
    const health = http("health", {
      method: "GET",
      endpoint: `${API}/api/v2/monitor/health`,
      responseCheck: (r) => r.ok && r.json<{ scheduler?: unknown }>().scheduler !== undefined,
      retries: 2,
      retryDelay: "2s",
    });
    const version = http<string>("version", {
      method: "GET",
      endpoint: `${API}/api/v2/version`,
      responseFilter: (r) => r.json<{ version: string }>().version,
    });
    const report = task("report", (v: string) => {
      console.log(`the API runs Updraft ${v}`);
      return v;
    });
    up.before([health, version]);
    health.before(version);
    report(version);
  },
);
