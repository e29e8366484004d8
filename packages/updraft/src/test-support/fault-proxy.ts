/**
 * A TCP proxy between a service and a real database, for tests of database faults. The shared
 * PostgreSQL and MariaDB must never be restarted (other tests use them), so an outage is made here:
 * `cut()` destroys every open connection and refuses new ones (as a database that went down does),
 * `blackhole()` keeps connections open but forwards nothing (a network partition: nothing fails, it
 * hangs), `restore()` brings the path back. A service pointed at `proxy.url(realUrl)` sees the
 * outage exactly as it would see a restart or a partition.
 */
import { createServer, connect, type Server, type Socket } from "node:net";

export type ProxyMode = "up" | "down" | "blackhole";

export interface FaultProxy {
  readonly port: number;
  readonly mode: ProxyMode;
  /** `url` with its host and port replaced by the proxy's. */
  url(url: string): string;
  /** Drops every open connection and refuses new ones until `restore()`, or for `ms` if given. */
  cut(ms?: number): void;
  /** A partition: connections stay open and new ones are accepted, but nothing arrives until `restore()`. */
  blackhole(): void;
  restore(): void;
  /** Client connections accepted so far (to see that a service reconnected). */
  readonly accepted: number;
  close(): Promise<void>;
}

export async function startFaultProxy(target: { host: string; port: number }): Promise<FaultProxy> {
  let mode: ProxyMode = "up";
  let accepted = 0;
  let timer: NodeJS.Timeout | undefined;
  const sockets = new Set<Socket>();
  // What a partition holds back (bytes in flight, connections not yet made), delivered on restore as
  // TCP would deliver it once the network heals.
  let held: (() => void)[] = [];
  const track = (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => s.destroy());
  };
  const forward = (from: Socket, to: Socket) =>
    from.on("data", (chunk) => (mode === "up" ? to.write(chunk) : held.push(() => to.write(chunk))));
  const open = (client: Socket) => {
    if (client.destroyed) return;
    const upstream = connect(target.port, target.host);
    track(upstream);
    forward(client, upstream);
    forward(upstream, client);
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  };
  const server: Server = createServer((client) => {
    track(client);
    if (mode === "down") return void client.resetAndDestroy();
    accepted++;
    if (mode === "blackhole") held.push(() => open(client));
    else open(client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  const restore = () => {
    clearTimeout(timer);
    mode = "up";
    const release = held;
    held = [];
    for (const deliver of release) deliver();
  };
  return {
    port,
    get mode() {
      return mode;
    },
    get accepted() {
      return accepted;
    },
    url(url) {
      const u = new URL(url);
      u.hostname = "127.0.0.1";
      u.port = String(port);
      return u.toString();
    },
    cut(ms) {
      mode = "down";
      held = [];
      for (const s of sockets) s.resetAndDestroy();
      clearTimeout(timer);
      if (ms !== undefined) timer = setTimeout(restore, ms);
    },
    blackhole() {
      mode = "blackhole";
    },
    restore,
    async close() {
      clearTimeout(timer);
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
