/**
 * A deferrable task (Airflow's deferrable operators): `wait_then_continue` hands its wait to the
 * triggerer with defer() and its process ends; for 30 s it is deferred (purple in the UI) and holds
 * no worker slot. When the trigger fires, the task resumes in a new process, on any worker, by
 * calling its `resume` option with the trigger's event (here, the moment it fired).
 */
import { dag, defer, task, timeDeltaTrigger } from "updraft";

const waitThenContinue = task(
  "wait_then_continue",
  () => defer(timeDeltaTrigger("30s"), { timeout: "10m" }),
  {
    resume: (event) => `resumed after the trigger fired at ${String(event)}`,
  },
);

const report = task("report", (message: string) => {
  console.log(message);
  return message.length;
});

export default dag(
  {
    dagId: "example_deferrable",
    description: "Waits 30 s through the triggerer without holding a worker slot.",
    schedule: null,
    tags: ["example"],
  },
  () => {
    report(waitThenContinue());
  },
);
