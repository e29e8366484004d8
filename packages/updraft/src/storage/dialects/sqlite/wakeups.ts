/**
 * Wake-ups on SQLite: nothing is sent. `PRAGMA data_version` on the writing connection changes when
 * another connection (another process: the webserver, the CLI) commits, and never for this
 * connection's own commits; reading it is a look at shared memory, so a scheduler looks every 10 ms.
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";
import type { Wakeups } from "../../dialect.ts";

const POLL_MS = 10;

export function sqliteWakeups(connection: () => DatabaseSync | undefined): Wakeups {
  return {
    notify: async () => undefined,
    async watch(_db, onWake) {
      let statement: StatementSync | undefined;
      let seen: unknown;
      const timer = setInterval(() => {
        const db = connection();
        if (!db?.isOpen) return;
        try {
          statement ??= db.prepare("pragma data_version");
          const version = (statement.get() as { data_version: number }).data_version;
          if (seen !== undefined && version !== seen) onWake();
          seen = version;
        } catch {
          statement = undefined; // closed meanwhile: looked at again once it is open
        }
      }, POLL_MS);
      timer.unref();
      return async () => clearInterval(timer);
    },
  };
}
