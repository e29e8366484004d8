/**
 * `dag.test()` as a user runs it: `node dags/etl.ts` in a DAGs project whose node_modules/updraft is
 * this package (built), the DAG file ending with `if (import.meta.main) await etl.test()`. Real
 * processes: the task logs and the summary on stdout, the exit code, TypeScript tasks in the file's
 * own process (its pid) and bash tasks outside it, a debugger stopping in task code; and the DAG
 * processor importing the same file without running it.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { dagsHome } from "../test-support/dags-home.ts";
import { assertBuilt } from "../test-support/service-process.ts";

const PACKAGE = fileURLToPath(new URL("../../", import.meta.url));

const ETL = `import { bash, dag, getVariable, task } from "updraft";

const etl = dag({ dagId: "etl" }, () => {
  const extract = task("extract", () => {
    console.log(\`extracting in pid=\${process.pid}\`);
    return { rows: [1, 2, 3], pid: process.pid };
  });
  const load = task("load", async (data: { rows: number[]; pid: number }) => {
    const region = await getVariable("region");
    console.log(\`loading \${data.rows.length} rows to \${region}; same pid: \${data.pid === process.pid}\`);
    return data.rows.length;
  });
  load(extract()).before(bash("notify", { command: "echo notified from bash pid=$$" }));
});
export default etl;

if (import.meta.main) {
  const result = await etl.test({ logicalDate: "2025-01-31T00:00:00Z" });
  console.log(\`main pid=\${process.pid} state=\${result.state} tasks=\${result.taskInstances.length}\`);
}
`;

const BROKEN = `import { dag, task } from "updraft";

const broken = dag({ dagId: "broken", defaultArgs: { retries: 0 } }, () => {
  const boom = task("boom", () => {
    throw new Error("the source is gone");
  });
  const next = task("next", () => 1);
  boom().before(next());
});
export default broken;
if (import.meta.main) await broken.test();
`;

const DEBUGGED = `import { dag, task } from "updraft";

const debugged = dag({ dagId: "debugged" }, () => {
  task("stop_here", () => {
    const answer = 42;
    debugger;
    return answer;
  })();
});
export default debugged;
if (import.meta.main) await debugged.test();
`;

let root: string;
/** An UPDRAFT_HOME that does not exist: a throwaway test must not create it. */
let home: string;

before(() => {
  assertBuilt();
  root = mkdtempSync(join(tmpdir(), "updraft-dag-test-"));
  home = join(root, "home");
  mkdirSync(join(root, "node_modules"));
  symlinkSync(PACKAGE, join(root, "node_modules", "updraft"), "dir");
  writeFileSync(join(root, "package.json"), JSON.stringify({ type: "module" }));
  mkdirSync(join(root, "dags"));
  writeFileSync(join(root, "dags", "etl.ts"), ETL);
  writeFileSync(join(root, "dags", "broken.ts"), BROKEN);
  writeFileSync(join(root, "dags", "debugged.ts"), DEBUGGED);
});
after(() => rmSync(root, { recursive: true, force: true }));

function node(args: string[]) {
  const r = spawnSync(process.execPath, args, {
    cwd: root,
    env: { ...process.env, UPDRAFT_HOME: home, UPDRAFT_VAR_REGION: "eu-west" },
    encoding: "utf8",
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, all: `${r.stdout}\n${r.stderr}` };
}

describe("dag.test() in the DAG file", () => {
  test("runs every task once, prints their logs and a summary, TypeScript tasks in this process", () => {
    const r = node(["dags/etl.ts"]);
    assert.equal(r.code, 0, r.all);
    const mainPid = r.stdout.match(/^main pid=(\d+) state=success tasks=3$/m)?.[1];
    assert.ok(mainPid, r.all);
    assert.match(r.stdout, new RegExp(`^\\[extract\\] extracting in pid=${mainPid}$`, "m"));
    assert.match(r.stdout, /^\[load\] loading 3 rows to eu-west; same pid: true$/m);
    const bashPid = r.stdout.match(/^\[notify\] notified from bash pid=(\d+)$/m)?.[1];
    assert.ok(bashPid, r.all);
    assert.notEqual(bashPid, mainPid, "a bash task runs in a process of its own");
    assert.match(r.stdout, /^Run manual__2025-01-31T00:00:00\+00:00 of etl: success$/m);
    for (const id of ["extract", "load", "notify"])
      assert.match(r.stdout, new RegExp(`^ {2}${id} +success$`, "m"));
    // Output the task wrote went to its log (and from there to stdout with its id), not around it.
    assert.doesNotMatch(r.stdout, /^extracting/m);
    assert.equal(existsSync(home), false, "a throwaway test writes nothing into UPDRAFT_HOME");
  });

  test("a failing task: its stack under its id, failed in the summary, exit code 1", () => {
    const r = node(["dags/broken.ts"]);
    assert.equal(r.code, 1, r.all);
    assert.match(r.stdout, /^\[boom\] Error: the source is gone$/m);
    assert.match(r.stdout, /^\[boom\] +at .*dags\/broken\.ts:\d+:\d+/m);
    assert.match(r.stdout, /^Run manual__\S+ of broken: failed$/m);
    assert.match(r.stdout, /^ {2}boom +failed$/m);
    assert.match(r.stdout, /^ {2}next +upstream_failed$/m);
  });

  test("runs under --inspect=0", () => {
    const r = node(["--inspect=0", "dags/etl.ts"]);
    assert.equal(r.code, 0, r.all);
    assert.match(r.stderr, /Debugger listening on ws:/);
    assert.match(r.stdout, /of etl: success/);
  });

  test("--inspect-brk stops at a debugger statement inside a task, in the DAG file", async () => {
    const paused = await debugOnce(["--inspect-brk=0", "dags/debugged.ts"]);
    assert.equal(paused.code, 0, paused.output);
    assert.ok(
      paused.stops.some((s) => s.reason === "other" && s.url.endsWith("/dags/debugged.ts")),
      `paused at the debugger statement: ${JSON.stringify(paused.stops)}\n${paused.output}`,
    );
    assert.match(paused.output, /^ {2}stop_here +success$/m);
  });

  test("the DAG processor imports the file without running the test", async () => {
    const marker = join(root, "ran");
    const guarded = ETL.replace(
      "if (import.meta.main) {",
      `if (import.meta.main) {\n  (await import("node:fs")).writeFileSync(${JSON.stringify(marker)}, "");`,
    );
    const h = await dagsHome({ "etl.ts": guarded });
    try {
      const stored = await h.database.db.selectFrom("dag").select("dag_id").execute();
      assert.deepEqual(
        stored.map((d) => d.dag_id),
        ["etl"],
      );
      assert.equal(existsSync(marker), false, "import.meta.main is false in the DAG processor");
    } finally {
      await h.close();
    }
  });

  test("useConfig: the run is recorded in the configured database, the DAG under its file", async () => {
    const kept = `import { dag, task } from "updraft";
const kept = dag({ dagId: "kept" }, () => {
  task("one", () => 1)();
});
export default kept;
if (import.meta.main) await kept.test({ useConfig: true, conf: { note: "hi" } });
`;
    const h = await dagsHome({ "kept.ts": kept });
    try {
      writeFileSync(join(h.config.home, "package.json"), JSON.stringify({ type: "module" }));
      symlinkSync(join(root, "node_modules"), join(h.config.home, "node_modules"), "dir");
      const r = spawnSync(process.execPath, [join(h.config.home, "dags", "kept.ts")], {
        env: { ...process.env, UPDRAFT_HOME: h.config.home, UPDRAFT__CORE__LOAD_EXAMPLES: "false" },
        encoding: "utf8",
        timeout: 60_000,
      });
      assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
      const run = await h.database.db
        .selectFrom("dag_run")
        .select(["conf", "state", "triggered_by"])
        .where("dag_id", "=", "kept")
        .executeTakeFirstOrThrow();
      assert.deepEqual(
        { ...run, conf: JSON.parse(run.conf!) },
        {
          conf: { note: "hi" },
          state: "success",
          triggered_by: "test",
        },
      );
      const dags = await h.database.db.selectFrom("dag").select(["dag_id", "fileloc"]).execute();
      assert.deepEqual(
        dags.map((d) => ({ ...d })),
        [{ dag_id: "kept", fileloc: "kept.ts" }],
      );
    } finally {
      await h.close();
    }
  });
});

/**
 * Runs node under the inspector with a minimal Chrome DevTools Protocol client: lets it start, and
 * resumes each time it pauses, noting where (the first pause is Node's break on start).
 */
async function debugOnce(args: string[]) {
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: { ...process.env, UPDRAFT_HOME: home },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  /** The debugger's connection, once open. */
  const client: { ws?: WebSocket } = {};
  child.stdout.on("data", (d: Buffer) => (output += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no inspector URL: ${output}`)), 20_000);
    child.stderr.on("data", (d: Buffer) => {
      output += d.toString();
      // At its end the process waits for the debugger to go: it goes.
      if (output.includes("Waiting for the debugger to disconnect")) client.ws?.close();
      const found = output.match(/Debugger listening on (ws:\/\/\S+)/)?.[1];
      if (found) {
        clearTimeout(timer);
        resolve(found);
      }
    });
  });
  const stops: { reason: string; url: string }[] = [];
  const scripts = new Map<string, string>();
  const ws = new WebSocket(url);
  client.ws = ws;
  let nextId = 1;
  const send = (method: string) => ws.send(JSON.stringify({ id: nextId++, method }));
  ws.addEventListener("message", (event) => {
    const m = JSON.parse(String(event.data)) as CdpEvent;
    if (m.method === "Debugger.scriptParsed") scripts.set(m.params.scriptId!, m.params.url!);
    if (m.method === "Debugger.paused") {
      const frame = m.params.callFrames![0]!;
      stops.push({ reason: m.params.reason!, url: scripts.get(frame.location.scriptId) ?? "" });
      send("Debugger.resume");
    }
  });
  await new Promise((resolve) => ws.addEventListener("open", resolve, { once: true }));
  send("Debugger.enable");
  send("Runtime.runIfWaitingForDebugger");
  const code = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    child.on("exit", (c) => {
      clearTimeout(timer);
      resolve(c);
    });
  });
  ws.close();
  return { code, stops, output };
}

/** The few inspector events read above. */
interface CdpEvent {
  method?: string;
  params: {
    scriptId?: string;
    url?: string;
    reason?: string;
    callFrames?: { location: { scriptId: string } }[];
  };
}
