/**
 * Services through a database outage, as an operator meets one: a real `updraft scheduler` or
 * `updraft webserver` process, a real PostgreSQL or MariaDB, and between them a TCP proxy that
 * drops every connection and refuses new ones (a restart seen from the service) or holds every byte
 * (a partition). The shared database servers themselves are never touched. What must hold: the
 * process keeps running, says "database unreachable ... retrying" and "database reachable again",
 * the webserver answers 503 (then 200) and /health "unhealthy" (then "healthy") fast, and the
 * scheduler schedules again afterwards without a restart.
 *
 * Runs the built package (`npm run build` first). UPDRAFT_TEST_OUTAGE_MS sets the outage (default 12 s).
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { createConnection } from "mysql2/promise";
import pg from "pg";
import { signingKey, tokenIssuer } from "../api/auth/tokens.ts";
import { MYSQL_URL, POSTGRES_URL } from "../test-support/databases.ts";
import { freePort } from "../test-support/distributed.ts";
import { startFaultProxy } from "../test-support/fault-proxy.ts";
import { assertBuilt, startService, updraft, updraftHome } from "../test-support/service-process.ts";
import { openDatabase } from "../storage/database.ts";

const OUTAGE_MS = Number(process.env.UPDRAFT_TEST_OUTAGE_MS ?? 12_000);
const SECRET = "database-faults-test-secret-0123456789";
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type Kind = "postgres" | "mysql";

/** A private database on the shared server (created and dropped here; the server is never restarted). */
async function privateDatabase(kind: Kind): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `updraft_f_${process.pid}_${Date.now().toString(36)}`;
  if (kind === "postgres") {
    const admin = new pg.Client(POSTGRES_URL);
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    return {
      url: Object.assign(new URL(POSTGRES_URL), { pathname: `/${name}` }).toString(),
      drop: async () => {
        const c = new pg.Client(POSTGRES_URL);
        await c.connect();
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await c.end();
      },
    };
  }
  const admin = await createConnection(MYSQL_URL);
  await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
  await admin.end();
  return {
    url: Object.assign(new URL(MYSQL_URL), { pathname: `/${name}` }).toString(),
    drop: async () => {
      const c = await createConnection(MYSQL_URL);
      await c.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await c.end();
    },
  };
}

async function reachable(kind: Kind): Promise<string | false> {
  try {
    await (await privateDatabase(kind)).drop();
    return false;
  } catch (error) {
    return `${kind} unreachable: ${(error as Error).message}`;
  }
}

/** One database behind a proxy, migrated, with a one-task DAG; every service here goes through the proxy. */
async function setup(kind: Kind) {
  const database = await privateDatabase(kind);
  const u = new URL(database.url);
  const proxy = await startFaultProxy({ host: u.hostname, port: Number(u.port) });
  const port = await freePort();
  const home = updraftHome(proxy.url(database.url), {
    UPDRAFT__DAG_PROCESSOR__REFRESH_INTERVAL: "2",
    UPDRAFT__API__HOST: "127.0.0.1",
    UPDRAFT__API__PORT: String(port),
    UPDRAFT__API__SECRET_KEY: SECRET,
  });
  writeFileSync(
    join(home.dags, "faults.ts"),
    `import { dag, bash } from "updraft";\nexport default dag({ dagId: "faults", schedule: null, isPausedUponCreation: false }, () => { bash("hello", { command: "echo hello" }); });\n`,
  );
  const migrate = await updraft(["db", "migrate"], home.env);
  assert.equal(migrate.code, 0, migrate.stderr);
  return {
    proxy,
    home,
    port,
    /** Straight to the database, not through the proxy: the test's own view. */
    direct: { ...home.env, UPDRAFT__DATABASE__URL: database.url },
    directUrl: database.url,
    async close() {
      await proxy.close();
      home.remove();
      await database.drop();
    },
  };
}

/** A webserver behind the proxy, listening and answering an Admin's token (the token is returned). */
async function servingWebserver(kind: Kind) {
  const s = await setup(kind);
  const created = await updraft(
    ["users", "create", "-u", "admin", "-r", "Admin", "--random-password"],
    s.direct,
  );
  assert.equal(created.code, 0, created.stderr);
  const token = await tokenIssuer(signingKey(SECRET, ""), 3600).issue({
    username: "admin",
    role: "Admin",
    version: 0,
  });
  const web = startService(["webserver"], s.home.env);
  try {
    await web.waitFor(/^webserver listening$/, 30_000);
    assert.equal((await get(s.port, "/api/v2/dags", token)).status, 200);
  } catch (error) {
    await web.stop();
    await s.close();
    throw error;
  }
  return { s, token, web };
}

/** Triggers a run of "faults" and waits for it to succeed (the scheduler is working). */
async function runCompletes(env: Record<string, string>, url: string, timeoutMs: number): Promise<string> {
  const runId = `faults_${Date.now()}`;
  const trigger = await updraft(["dags", "trigger", "faults", "--run-id", runId], env);
  assert.equal(trigger.code, 0, trigger.stderr);
  const database = openDatabase(url, { poolSize: 1 });
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const run = await database.db
        .selectFrom("dag_run")
        .select("state")
        .where("run_id", "=", runId)
        .executeTakeFirst();
      if (run?.state === "success") return runId;
      if (Date.now() > deadline) throw new Error(`run ${runId} is ${run?.state} after ${timeoutMs} ms`);
      await sleep(250);
    }
  } finally {
    await database.close();
  }
}

async function get(port: number, path: string, token?: string) {
  const started = performance.now();
  const response = await fetch(`http://127.0.0.1:${port}${path}`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
    signal: AbortSignal.timeout(20_000),
  });
  const body = (await response.json()) as Record<string, unknown>;
  return {
    status: response.status,
    body,
    ms: performance.now() - started,
    retryAfter: response.headers.get("retry-after"),
  };
}

const metadatabase = (body: Record<string, unknown>) => (body.metadatabase as { status: string }).status;

describe("database faults", { skip: assertBuiltOrSkip() }, () => {
  for (const kind of ["postgres", "mysql"] as const) {
    describe(kind, () => {
      let skip: string | false = false;
      before(async () => {
        skip = await reachable(kind);
      });

      test(`a running scheduler keeps running through a ${OUTAGE_MS / 1000} s outage and schedules again`, async (t) => {
        if (skip) return t.skip(skip);
        const s = await setup(kind);
        const scheduler = startService(["scheduler"], s.home.env);
        try {
          await scheduler.waitFor(/^scheduler started$/, 30_000);
          await runCompletes(s.direct, s.directUrl, 30_000);
          const cutAt = Date.now();
          s.proxy.cut();
          await scheduler.waitFor(/^database unreachable \(.+\); retrying$/, 10_000, cutAt);
          await sleep(OUTAGE_MS - (Date.now() - cutAt));
          assert.ok(scheduler.alive(), `the scheduler died in the outage:\n${scheduler.other.join("\n")}`);
          const restoredAt = Date.now();
          s.proxy.restore();
          const back = await scheduler.waitFor(
            /^database reachable again after [\d.]+ s$/,
            15_000,
            restoredAt,
          );
          const reconnectMs = back.at - restoredAt;
          const started = Date.now();
          await runCompletes(s.direct, s.directUrl, 30_000);
          t.diagnostic(
            `${kind}: outage ${OUTAGE_MS} ms; reconnected ${reconnectMs} ms after the restore; a run completed ${Date.now() - started} ms after that`,
          );
          assert.ok(scheduler.alive());
          assert.equal(await scheduler.stop(), 0);
        } finally {
          await scheduler.stop();
          await s.close();
        }
      });

      test("a scheduler and a webserver started while the database is down wait for it, then start", async (t) => {
        if (skip) return t.skip(skip);
        const s = await setup(kind);
        s.proxy.cut();
        const scheduler = startService(["scheduler"], s.home.env);
        const web = startService(["webserver"], s.home.env);
        try {
          await scheduler.waitFor(/^waiting for the database .+; retrying$/, 20_000);
          await web.waitFor(/^waiting for the database .+; retrying$/, 20_000);
          await sleep(3_000);
          assert.ok(
            scheduler.alive(),
            `the scheduler exited instead of waiting:\n${scheduler.other.join("\n")}`,
          );
          assert.ok(web.alive(), `the webserver exited instead of waiting:\n${web.other.join("\n")}`);
          s.proxy.restore();
          await scheduler.waitFor(/^scheduler started$/, 30_000);
          await web.waitFor(/^webserver listening$/, 30_000);
          await runCompletes(s.direct, s.directUrl, 30_000);
          assert.equal(metadatabase((await get(s.port, "/api/v2/monitor/health")).body), "healthy");
          assert.equal(await scheduler.stop(), 0);
          assert.equal(await web.stop(), 0);
        } finally {
          await scheduler.stop();
          await web.stop();
          await s.close();
        }
      });

      test("a webserver answers 503 during an outage, /health says unhealthy, and both recover", async (t) => {
        if (skip) return t.skip(skip);
        const { s, token, web } = await servingWebserver(kind);
        try {
          // Requests in flight when the connections drop: a lost connection under a running query
          // must fail that request, not the process.
          const inFlight = Array.from({ length: 8 }, () =>
            get(s.port, "/api/v2/dags", token).catch((e: Error) => e),
          );
          const cutAt = Date.now();
          s.proxy.cut();
          await Promise.all(inFlight);
          const during = await get(s.port, "/api/v2/dags", token);
          assert.equal(during.status, 503, JSON.stringify(during.body));
          assert.match(String(during.body.detail), /metadata database is unreachable/);
          assert.ok(Number(during.retryAfter) > 0, "Retry-After is set");
          const health = await get(s.port, "/api/v2/monitor/health");
          assert.equal(health.status, 200);
          assert.equal(metadatabase(health.body), "unhealthy");
          assert.ok(health.ms < 2_500, `health took ${health.ms} ms`);
          const down = await web.waitFor(/^database unreachable \(.+\); retrying$/, 10_000, cutAt);
          assert.ok(web.alive(), `the webserver died:\n${web.other.join("\n")}`);

          const restoredAt = Date.now();
          s.proxy.restore();
          const up = await web.waitFor(/^database reachable again after [\d.]+ s$/, 15_000, restoredAt);
          t.diagnostic(
            `${kind}: "unreachable" logged ${down.at - cutAt} ms after the cut, "reachable again" ${up.at - restoredAt} ms after the restore`,
          );
          assert.equal(metadatabase((await get(s.port, "/api/v2/monitor/health")).body), "healthy");
          assert.equal((await get(s.port, "/api/v2/dags", token)).status, 200);
          t.diagnostic(
            `${kind}: 503 in ${Math.round(during.ms)} ms, health in ${Math.round(health.ms)} ms during the outage`,
          );
          assert.equal(await web.stop(), 0);
        } finally {
          await web.stop();
          await s.close();
        }
      });

      test("in a network partition /health answers unhealthy within 2.5 s and requests get 503", async (t) => {
        if (skip) return t.skip(skip);
        const { s, token, web } = await servingWebserver(kind);
        try {
          s.proxy.blackhole();
          const health = await get(s.port, "/api/v2/monitor/health");
          assert.equal(metadatabase(health.body), "unhealthy");
          assert.ok(health.ms < 2_500, `health took ${health.ms} ms`);
          await web.waitFor(/^database unreachable/, 10_000);
          const during = await get(s.port, "/api/v2/dags", token);
          assert.equal(during.status, 503);
          assert.ok(during.ms < 500, `a 503 while the database is known away is immediate (${during.ms} ms)`);
          s.proxy.restore();
          await web.waitFor(/^database reachable again/, 15_000);
          assert.equal((await get(s.port, "/api/v2/dags", token)).status, 200);
        } finally {
          await web.stop();
          await s.close();
        }
      });
    });
  }
});

function assertBuiltOrSkip(): false {
  // A stale build fails loudly rather than testing old code.
  assertBuilt();
  return false;
}
