/**
 * Wake-ups on MySQL/MariaDB, which can notify no one: a scheduler looks at the newest run id ten
 * times a second (one primary-key read), so a run triggered elsewhere starts within 100 ms instead
 * of at the next full iteration. Other changes (a clear, a mark) wait for that iteration.
 */
import { sql } from "kysely";
import type { Wakeups } from "../../dialect.ts";

const POLL_MS = 100;

export function mysqlWakeups(): Wakeups {
  return {
    notify: async () => undefined,
    async watch(db, onWake, log) {
      let newest: number | undefined;
      let stopped = false;
      let failing = false;
      const look = async () => {
        try {
          const { rows } = await sql<{ id: number | null }>`select max(id) as id from dag_run`.execute(db);
          const id = Number(rows[0]?.id ?? 0);
          if (newest !== undefined && id !== newest) onWake();
          newest = id;
          failing = false;
        } catch (error) {
          if (!failing) log?.(`looking for new runs failed (${(error as Error).message}); trying again`);
          failing = true;
        }
      };
      let running: Promise<void> = look();
      const timer = setInterval(() => {
        if (!stopped) running = running.then(look);
      }, POLL_MS);
      timer.unref();
      return async () => {
        stopped = true;
        clearInterval(timer);
        await running;
      };
    },
  };
}
