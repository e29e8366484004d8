/**
 * Private database servers for the chaos test. The shared PostgreSQL (5432) and MariaDB (3306) serve
 * other people's tests, so the chaos test never restarts them: it starts its own server in a temp
 * folder, on its own port, restarts that one mid-run, and removes it at the end.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createConnection as netConnect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export type StopMode = "fast" | "immediate";

export interface PrivateDatabase {
  kind: "postgres" | "mysql";
  url: string;
  /** Where the server's own log goes. */
  logFile: string;
  /**
   * Stops the server, waits `downSeconds`, starts it again. "fast": a clean shutdown (sessions are
   * told); "immediate": as a crash (PostgreSQL -m immediate, SIGKILL to mariadbd), recovery on start.
   */
  restart(downSeconds: number, mode: StopMode, say: (line: string) => void): Promise<void>;
  stop(): Promise<void>;
}

const asRoot = process.getuid?.() === 0;

/** Runs a command as `user` (through runuser when we are root, as ourselves otherwise). */
function runAs(user: string, command: string, args: string[]): string {
  const [cmd, argv] = asRoot ? ["runuser", ["-u", user, "--", command, ...args]] : [command, args];
  return execFileSync(cmd, argv, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

function postgresBin(name: string): string {
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) if (existsSync(join(root, v, "bin", name))) return join(root, v, "bin", name);
  return name;
}

/** A folder the database's OS user can write (temp folders are 0700 and owned by us). */
function folderFor(user: string, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o777);
  if (asRoot) execFileSync("chown", [user, dir]);
  return dir;
}

export async function freePort(preferred: number): Promise<number> {
  for (let port = preferred; port < preferred + 50; port++) if (!(await listening(port))) return port;
  throw new Error(`no free port in ${preferred}-${preferred + 49}`);
}

export function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = netConnect({ host: "127.0.0.1", port });
    socket.once("connect", () => (socket.destroy(), resolve(true)));
    socket.once("error", () => resolve(false));
  });
}

async function waitFor(port: number, up: boolean, seconds: number, what: string): Promise<void> {
  const until = Date.now() + seconds * 1000;
  while (Date.now() < until) {
    if ((await listening(port)) === up) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what} did not ${up ? "come up" : "go down"} on port ${port} within ${seconds} s`);
}

/** initdb + pg_ctl start as the postgres user, a `chaos` database, trust authentication on 127.0.0.1. */
export async function startPrivatePostgres(preferredPort = 5544): Promise<PrivateDatabase> {
  const port = await freePort(preferredPort);
  const dir = folderFor("postgres", "updraft-chaos-pg-");
  const data = join(dir, "data");
  const logFile = join(dir, "postgres.log");
  runAs("postgres", postgresBin("initdb"), ["-D", data, "-A", "trust", "-U", "postgres", "--no-sync"]);
  // fsync off: the server is restarted, the machine is not, so the page cache keeps every commit.
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`;
  const ctl = (...args: string[]) => runAs("postgres", postgresBin("pg_ctl"), ["-D", data, ...args]);
  const start = () => ctl("-o", options, "-l", logFile, "-w", "-t", "60", "start");
  start();
  await waitFor(port, true, 30, "PostgreSQL");
  runAs("postgres", postgresBin("createdb"), [
    "-h",
    "127.0.0.1",
    "-p",
    String(port),
    "-U",
    "postgres",
    "chaos",
  ]);
  return {
    kind: "postgres",
    url: `postgresql://postgres@127.0.0.1:${port}/chaos`,
    logFile,
    async restart(downSeconds, mode, say) {
      say(`PostgreSQL: pg_ctl stop -m ${mode} (port ${port})`);
      ctl("-m", mode, "-w", "stop");
      await new Promise((r) => setTimeout(r, downSeconds * 1000));
      say(`PostgreSQL: pg_ctl start after ${downSeconds} s down`);
      start();
    },
    async stop() {
      try {
        ctl("-m", "immediate", "-w", "stop");
      } catch {
        // already stopped
      }
      rmSync(data, { recursive: true, force: true }); // the server's log stays
    },
  };
}

/** mariadb-install-db + mariadbd on its own port and socket, root without a password. */
export async function startPrivateMariaDb(preferredPort = 3344): Promise<PrivateDatabase> {
  const port = await freePort(preferredPort);
  const dir = folderFor("mysql", "updraft-chaos-mariadb-");
  const data = join(dir, "data");
  const logFile = join(dir, "mariadb.log");
  runAs("mysql", "mariadb-install-db", [
    `--datadir=${data}`,
    "--auth-root-authentication-method=normal",
    "--skip-test-db",
  ]);
  let server: ChildProcess | undefined;
  const start = async () => {
    server = spawn(
      "mariadbd",
      [
        "--no-defaults",
        `--datadir=${data}`,
        `--port=${port}`,
        `--socket=${join(dir, "mariadb.sock")}`,
        "--bind-address=127.0.0.1",
        `--log-error=${logFile}`,
        `--pid-file=${join(dir, "mariadb.pid")}`,
        "--innodb-buffer-pool-size=128M",
        "--innodb-flush-log-at-trx-commit=2",
        "--skip-name-resolve",
        "--max-connections=300",
        ...(asRoot ? ["--user=mysql"] : []),
      ],
      { stdio: "ignore", detached: true },
    );
    await waitFor(port, true, 60, "MariaDB");
  };
  const halt = async (signal: NodeJS.Signals = "SIGTERM") => {
    if (!server || server.exitCode !== null) return;
    const exited = new Promise((r) => server!.once("exit", r));
    server.kill(signal);
    await exited;
  };
  await start();
  execFileSync("mariadb", ["-h127.0.0.1", `-P${port}`, "-uroot", "-e", "CREATE DATABASE chaos"]);
  return {
    kind: "mysql",
    url: `mysql://root@127.0.0.1:${port}/chaos`,
    logFile,
    async restart(downSeconds, mode, say) {
      const signal = mode === "fast" ? "SIGTERM" : "SIGKILL";
      say(`MariaDB: ${signal} to mariadbd (port ${port})`);
      await halt(signal);
      await new Promise((r) => setTimeout(r, downSeconds * 1000));
      say(`MariaDB: mariadbd started again after ${downSeconds} s down`);
      await start();
    },
    async stop() {
      await halt();
      rmSync(data, { recursive: true, force: true }); // the server's log stays
    },
  };
}
