/**
 * Restate: the server binary from the npm package @restatedev/restate-server (its platform package
 * ships the binary; no install script), a TypeScript service endpoint in this process, and one
 * durable handler per graph that calls a `task` handler per task: every call is an invocation the
 * server journals in its own log (RocksDB).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as restate from "@restatedev/restate-sdk";
import * as clients from "@restatedev/restate-sdk-clients";
import { log, waitFor } from "../util.ts";
import { recorder, taskCount, type Graph, type Peer } from "../workloads.ts";

const INGRESS = Number(process.env.BENCH_RESTATE_INGRESS_PORT ?? 18080);
const ADMIN = Number(process.env.BENCH_RESTATE_ADMIN_PORT ?? 19070);
const NODE = Number(process.env.BENCH_RESTATE_NODE_PORT ?? 15122);
const ENDPOINT = Number(process.env.BENCH_RESTATE_ENDPOINT_PORT ?? 19080);

let graphs = new Map<string, Graph>();

const taskService = restate.service({
  name: "task",
  handlers: {
    run: async (_ctx: restate.Context, job: { g: string; i: number }) => {
      await recorder.task(job.g, job.i, graphs.get(job.g)!.body);
    },
  },
});

const graphService = restate.service({
  name: "graph",
  handlers: {
    run: async (ctx: restate.Context, req: { g: string }) => {
      const g = graphs.get(req.g)!;
      const call = (i: number) => ctx.serviceClient(taskService).run({ g: g.id, i });
      const n = taskCount(g.shape);
      if (g.shape.kind === "chain") for (let i = 0; i < n; i++) await call(i);
      else if (g.shape.kind === "parallel")
        await restate.RestatePromise.all(Array.from({ length: n }, (_, i) => call(i)));
      else {
        await call(0);
        await restate.RestatePromise.all(Array.from({ length: g.shape.width }, (_, k) => call(k + 1)));
        await call(n - 1);
      }
    },
  },
});

export function restatePeer(): Peer {
  let server: ChildProcess | undefined;
  let dir = "";
  let endpoint: { close(): void } | undefined;
  let ingress: clients.Ingress;
  return {
    name: "Restate",
    backend: "own log (RocksDB)",
    durable: true,
    how: "restate-server from npm; a graph handler calls a task handler per task (RestatePromise.all for the fan-out), each call a journaled invocation",
    async setup() {
      const require = createRequire(import.meta.url);
      const binary = require.resolve(
        `@restatedev/restate-server-${process.platform}-${process.arch}/bin/restate-server`,
      );
      dir = mkdtempSync(join(tmpdir(), "restate-bench-"));
      server = spawn(binary, ["--base-dir", dir, "--listen-mode", "tcp", "--no-logo"], {
        env: {
          ...process.env,
          RESTATE_DISABLE_TELEMETRY: "true",
          RESTATE_LOG_FILTER: "error",
          RESTATE_ADMIN__BIND_ADDRESS: `127.0.0.1:${ADMIN}`,
          RESTATE_INGRESS__BIND_ADDRESS: `127.0.0.1:${INGRESS}`,
          RESTATE_BIND_ADDRESS: `127.0.0.1:${NODE}`,
          RESTATE_ADVERTISED_ADDRESS: `http://127.0.0.1:${NODE}`,
        },
        stdio: ["ignore", "ignore", "pipe"],
      });
      let stderr = "";
      server.stderr!.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
      const exited = new Promise<never>((_, reject) =>
        server!.once("exit", (code) =>
          reject(new Error(`restate-server exited (${code}): ${stderr.trim().split("\n").pop()}`)),
        ),
      );
      await Promise.race([
        exited,
        waitFor(
          "restate-server's admin API",
          async () => (await fetch(`http://127.0.0.1:${ADMIN}/health`).catch(() => null))?.ok === true,
          60_000,
          100,
        ),
      ]);
      // One INFO line per invocation would cost more than the no-op tasks: errors only.
      const ep = restate
        .endpoint()
        .bind(taskService)
        .bind(graphService)
        .setLogger((params, message, ...rest) => {
          if (params.level === "error") log(`Restate SDK: ${String(message)} ${rest.map(String).join(" ")}`);
        });
      const http2 = await import("node:http2");
      const h2 = http2.createServer(ep.http2Handler());
      await new Promise<void>((r) => h2.listen(ENDPOINT, "127.0.0.1", r));
      endpoint = h2;
      const reg = await fetch(`http://127.0.0.1:${ADMIN}/deployments`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ uri: `http://127.0.0.1:${ENDPOINT}`, force: true }),
      });
      if (!reg.ok) throw new Error(`registering the deployment: ${reg.status} ${await reg.text()}`);
      ingress = clients.connect({ url: `http://127.0.0.1:${INGRESS}` });
      // The ingress learns of the deployment shortly after the admin API accepted it.
      await waitFor("the ingress to know the services", async () => {
        const r = await fetch(`http://127.0.0.1:${INGRESS}/restate/health`).catch(() => null);
        return r !== null;
      });
    },
    async run(list, _tag) {
      graphs = new Map(list.map((g) => [g.id, g]));
      recorder.reset(list);
      for (let attempt = 0; ; attempt++) {
        try {
          await Promise.all(list.map((g) => ingress.serviceClient(graphService).run({ g: g.id })));
          break;
        } catch (error) {
          // Right after registration the ingress may not route to the service yet.
          if (attempt > 20 || !/not found|404|unknown/i.test(String(error))) throw error;
          log(`Restate: ${String(error).slice(0, 120)}; retrying`);
          await new Promise((r) => setTimeout(r, 250));
        }
      }
      return { times: recorder.times };
    },
    pids: () => (server?.pid ? [server.pid] : []),
    async teardown() {
      endpoint?.close();
      if (server && server.exitCode === null) {
        server.kill("SIGTERM");
        await new Promise((r) => {
          const t = setTimeout(() => {
            server!.kill("SIGKILL");
            r(null);
          }, 5000);
          server!.once("exit", () => {
            clearTimeout(t);
            r(null);
          });
        });
      }
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
