/**
 * SQL with sql() (Airflow's SQLExecuteQueryOperator) on a SQLite connection: a split script that
 * makes a table in one transaction, a query with bound parameters whose rows (objects keyed by
 * column) are the XCom, a handler that turns rows into one number, and sqlHook in a TypeScript task.
 *
 * It needs the connection `example_sqlite`, e.g. in the environment of the scheduler (or worker):
 *   UPDRAFT_CONN_EXAMPLE_SQLITE='sqlite:////tmp/updraft_example.db'
 * or `updraft connections add example_sqlite --conn-uri 'sqlite:////tmp/updraft_example.db'`.
 * Without it, the first task says so and the rest is skipped. PostgreSQL and MySQL connections work
 * the same way (their placeholders are $1 and ?).
 */
import { dag, getConnection, shortCircuit, sql, sqlHook, task } from "updraft";

const CONN = "example_sqlite";

export default dag(
  {
    dagId: "example_sql",
    description: "sql(): a split script, parameters, a handler, and sqlHook in a TypeScript task.",
    schedule: null,
    params: { least: 20 },
    tags: ["example"],
  },
  () => {
    const ready = shortCircuit("has_connection", async () => {
      try {
        await getConnection(CONN);
        return true;
      } catch {
        console.log(
          `no connection "${CONN}": set UPDRAFT_CONN_EXAMPLE_SQLITE='sqlite:////tmp/updraft_example.db'`,
        );
        return false;
      }
    })();
    const make = sql("make_table", {
      connId: CONN,
      sql: `
        DROP TABLE IF EXISTS sales;
        CREATE TABLE sales (region TEXT, amount INTEGER, day TEXT);
        INSERT INTO sales VALUES ('north', 10, '{{ ds }}'), ('south', 25, '{{ ds }}'), ('east', 40, '{{ ds }}');
      `,
      split: true,
    });
    const big = sql<{ region: string; amount: number }[]>("big_sales", {
      connId: CONN,
      sql: "SELECT region, amount FROM sales WHERE amount >= ? AND day = ? ORDER BY amount",
      parameters: ["{{ params.least }}", "{{ ds }}"],
    });
    const total = sql<number>("total", {
      connId: CONN,
      sql: "SELECT sum(amount) AS total FROM sales",
      handler: (rows) => Number(rows[0]!.total),
    });
    const check = task("check", async (rows: { region: string }[], sum: number) => {
      const db = sqlHook(CONN);
      try {
        const n = (await db.query<{ n: number }>("SELECT count(*) AS n FROM sales"))[0]?.n ?? 0;
        console.log(`${rows.length} of ${n} regions sold at least the least; ${sum} in all`);
        return { regions: rows.map((r) => r.region), total: sum, rows: n };
      } finally {
        await db.close();
      }
    });
    ready.before(make);
    make.before([big, total]);
    check(big, total);
  },
);
