/**
 * Variables and connections from a TypeScript task: `getVariable` and `getConnection` ask the task's
 * runner (the scheduler, or a worker through the Task Execution API), never the database; secret
 * values are masked in the task's log. A task's `queue` picks the workers that run it with the
 * bullmq executor (docs/deployment.md); with the local executor every queue runs on the scheduler.
 */
import { dag, task, bash, getVariable } from "updraft";

export default dag(
  {
    dagId: "example_variables",
    description: "getVariable with a default, JSON variables, and a task routed to a queue.",
    schedule: null,
    tags: ["example"],
  },
  () => {
    const settings = task("settings", async () => {
      // Set them with: updraft variables set example_greeting hi; updraft variables set example_limits '{"rows": 5}'
      const greeting = await getVariable("example_greeting", { default: "hello" });
      const limits = await getVariable<{ rows: number }>("example_limits", {
        default: { rows: 3 },
        deserializeJson: true,
      });
      console.log(`greeting ${greeting}, at most ${limits.rows} rows`);
      return { greeting, rows: limits.rows };
    });
    const greet = bash("greet", {
      command: 'echo "{{ var.value.get("example_greeting", "hello") }} from the {{ ti.queue }} queue"',
      queue: "default",
    });
    settings().before(greet);
  },
);
