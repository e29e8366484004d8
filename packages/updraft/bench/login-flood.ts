/**
 * Login floods against a real webserver (issue 13, item 7): do the UI's index.html and a DAG's source
 * stay fast while strangers hammer POST /auth/token with wrong passwords? Password hashing (scrypt)
 * runs on libuv's thread pool, which file reads share: unbounded, a flood starves them.
 *
 * Rows: the baseline (no flood), a flood from one address (the per-address limit answers 429), and a
 * flood with a different X-Forwarded-For on every request through the trusted proxy (only the global
 * bound on hashing holds it). A real `updraft webserver` process, SQLite, default settings.
 *
 *   npm run bench:login-flood [-- --concurrency 200 --seconds 10 --samples 200]
 */
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { join } from "node:path";
import { assertBuilt, startService, updraftHome, UPDRAFT_BIN } from "../src/test-support/service-process.ts";

const { values } = parseArgs({
  options: {
    concurrency: { type: "string", default: "200" },
    seconds: { type: "string", default: "10" },
    samples: { type: "string", default: "200" },
  },
});
const CONCURRENCY = Number(values.concurrency);
const SECONDS = Number(values.seconds);
const SAMPLES = Number(values.samples);
const PASSWORD = "bench-admin-password";
const PORT = 18_000 + (process.pid % 1000);
const BASE = `http://127.0.0.1:${PORT}`;
const progress = (text: string) => process.stderr.write(`  ${text}\n`);

assertBuilt();
const home = updraftHome(
  `sqlite:///${join(process.env.TMPDIR ?? "/tmp", `updraft-flood-${process.pid}.db`)}`,
);
writeFileSync(
  join(home.dags, "flood.ts"),
  `import { dag, bash } from "updraft";\nexport default dag({ dagId: "flood" }, () => { bash("a", { command: "echo ${"x".repeat(2000)}" }); });\n`,
);
const cli = (...args: string[]) => {
  const r = spawnSync(process.execPath, [UPDRAFT_BIN, ...args], { env: home.env, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`updraft ${args.join(" ")}: ${r.stderr}`);
};
progress("migrating, creating the admin, parsing the DAG");
cli("db", "migrate");
cli("users", "create", "-u", "admin", "-r", "Admin", "-p", PASSWORD);
cli("dags", "reserialize");
const server = startService(["webserver", "--port", String(PORT)], home.env);
await server.waitFor(/webserver listening/, 30_000);

const flood = { on: false, statuses: new Map<number, number>(), sent: 0 };

const token = await login("admin", PASSWORD);
if (!token) throw new Error("the admin could not log in");

async function login(username: string, password: string, forwardedFor?: string): Promise<string | null> {
  const response = await fetch(`${BASE}/auth/token`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(forwardedFor ? { "x-forwarded-for": forwardedFor } : {}),
    },
    body: JSON.stringify({ username, password }),
  });
  const body = (await response.json()) as { access_token?: string };
  flood.statuses.set(response.status, (flood.statuses.get(response.status) ?? 0) + 1);
  return body.access_token ?? null;
}

async function floodLoop(spoof: boolean): Promise<void> {
  while (flood.on) {
    flood.sent++;
    const address = spoof
      ? `10.${(flood.sent >> 16) & 255}.${(flood.sent >> 8) & 255}.${flood.sent & 255}`
      : undefined;
    await login(`nobody${flood.sent % 50}`, "wrong-password", address).catch(() => undefined);
  }
}

async function timed(url: string, auth: boolean): Promise<number> {
  const started = performance.now();
  const response = await fetch(`${BASE}${url}`, {
    headers: auth ? { authorization: `Bearer ${token}` } : {},
  });
  await response.arrayBuffer();
  if (response.status !== 200) throw new Error(`${url}: ${response.status}`);
  return performance.now() - started;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function measure(label: string, spoof: boolean | null): Promise<void> {
  flood.statuses.clear();
  flood.sent = 0;
  const loops: Promise<void>[] = [];
  if (spoof !== null) {
    flood.on = true;
    for (let i = 0; i < CONCURRENCY; i++) loops.push(floodLoop(spoof));
    // Let the flood build up before sampling.
    await new Promise((r) => setTimeout(r, 1000));
  }
  const started = performance.now();
  const index: number[] = [];
  const source: number[] = [];
  while (index.length < SAMPLES && (spoof === null || performance.now() - started < SECONDS * 1000)) {
    index.push(await timed("/", false));
    source.push(await timed("/api/v2/dagSources/flood", true));
  }
  flood.on = false;
  await Promise.all(loops);
  const elapsed = (performance.now() - started) / 1000 + (spoof === null ? 0 : 1);
  const [i, s] = [index.sort((a, b) => a - b), source.sort((a, b) => a - b)];
  const statuses = [...flood.statuses].map(([k, v]) => `${k}: ${v}`).join(", ") || "-";
  rows.push(
    `| ${label} | ${percentile(i, 50).toFixed(1)} | ${percentile(i, 99).toFixed(1)} | ${percentile(s, 50).toFixed(1)} | ${percentile(s, 99).toFixed(1)} | ${spoof === null ? "-" : (flood.sent / elapsed).toFixed(0)} | ${statuses} |`,
  );
  progress(rows.at(-1)!);
}

const rows: string[] = [];
try {
  progress(`measuring (${CONCURRENCY} concurrent logins, ${SECONDS} s per flood)`);
  await measure("baseline: no flood", null);
  await measure(`${CONCURRENCY} concurrent wrong logins, one address`, false);
  await measure(`${CONCURRENCY} concurrent wrong logins, a new X-Forwarded-For each`, true);
  process.stdout.write(
    `\nLogin flood against \`updraft webserver\` (SQLite, defaults), ${SAMPLES} samples per row, ms\n\n` +
      "| load | index.html p50 | index.html p99 | DAG source p50 | DAG source p99 | logins/s | login answers |\n" +
      "|---|---|---|---|---|---|---|\n" +
      `${rows.join("\n")}\n`,
  );
} finally {
  await server.stop();
  home.remove();
}
