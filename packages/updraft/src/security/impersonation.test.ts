/**
 * Impersonation (issue 13, item 4): a task with runAsUser, or every task under
 * `[core] default_impersonation`, runs as that operating-system user and cannot read the
 * installation's config or database; an unknown user fails the task with a message naming it. A real
 * `updraft dags test` process on each database, a real system user made for the test.
 *
 * Needs root (to create the user and to start processes as it): skipped, loudly, otherwise.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { childUrl, forEachDatabase } from "../test-support/databases.ts";

const MAIN = fileURLToPath(new URL("../cli/main.ts", import.meta.url));
const PACKAGE = fileURLToPath(new URL("../..", import.meta.url));
const USER = "updraft-test-task";

/** Creates the system user once; undefined when this machine cannot (not root). */
function taskUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  let entry = spawnSync("getent", ["passwd", USER], { encoding: "utf8" });
  if (entry.status !== 0) {
    const made = spawnSync(
      "useradd",
      ["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", USER],
      {
        encoding: "utf8",
      },
    );
    assert.equal(made.status, 0, `useradd ${USER}: ${made.stderr}`);
    entry = spawnSync("getent", ["passwd", USER], { encoding: "utf8" });
  }
  const [, , uid, gid] = entry.stdout.trim().split(":");
  return { uid: Number(uid), gid: Number(gid) };
}

const user = taskUser();
if (!user)
  console.error(
    `\n*** SKIPPED: impersonation tests need root (to create "${USER}" and start tasks as it); this process is uid ${process.getuid?.()} ***\n`,
  );
// The TaskFlow worker runs Updraft's own files as the task's user: they must be readable by it.
const packageReadable =
  user !== undefined &&
  spawnSync(process.execPath, ["-e", `require("fs").accessSync(${JSON.stringify(MAIN)}, 4)`], {
    uid: user.uid,
    gid: user.gid,
  }).status === 0;
if (user && !packageReadable)
  console.error(
    `\n*** PARTLY SKIPPED: ${USER} cannot run ${process.execPath} or read ${PACKAGE}: the TypeScript task is only checked to fail clearly ***\n`,
  );

forEachDatabase("tasks run as another user cannot reach the installation", (get) => {
  test(
    "runAsUser and [core] default_impersonation: the task is that user; updraft.toml and the database are out of reach",
    { skip: !user },
    () => {
      const url = childUrl(get());
      const home = mkdtempSync(join(tmpdir(), "updraft-imp-"));
      // The DAGs folder is the one thing the task's user must read: outside the 0700 home.
      const dags = mkdtempSync(join(tmpdir(), "updraft-imp-dags-"));
      chmodSync(dags, 0o755);
      const env = {
        ...process.env,
        UPDRAFT_HOME: home,
        UPDRAFT__DATABASE__URL: url,
        UPDRAFT__CORE__DAGS_FOLDER: dags,
        UPDRAFT__CORE__LOAD_EXAMPLES: "false",
        UPDRAFT__CORE__DEFAULT_IMPERSONATION: USER,
      };
      const cli = (...args: string[]) => {
        const r = spawnSync(process.execPath, [MAIN, ...args], { env, encoding: "utf8", timeout: 120_000 });
        return { code: r.status, out: `${r.stdout}\n${r.stderr}` };
      };
      assert.equal(cli("db", "migrate").code, 0);
      const toml = join(home, "updraft.toml");
      const sqlite = url.startsWith("sqlite") ? url.replace(/^sqlite:\/\//, "") : join(home, "updraft.db");
      const tryRead = (path: string) =>
        `if cat ${path} >/dev/null 2>&1; then echo READ ${path}; else echo DENIED ${path}; fi`;
      writeFileSync(
        join(dags, "imp.ts"),
        `import { readFileSync } from "node:fs";
import { dag, bash, task } from "updraft";
export default dag({ dagId: "imp" }, () => {
  const shell = bash("shell", {
    runAsUser: ${JSON.stringify(USER)},
    command: "echo WHO=$(id -un) HOME=$HOME; ${tryRead(toml)}; ${tryRead(sqlite)}",
  });
  const ts = task("ts", () => {
    console.log("UID=" + process.getuid!());
    try { readFileSync(${JSON.stringify(toml)}); console.log("TS READ"); } catch (e) { console.log("TS " + (e as NodeJS.ErrnoException).code); }
  });
  shell.before(ts());
});
`,
      );
      chmodSync(join(dags, "imp.ts"), 0o644);
      const run = cli("dags", "test", "imp", "2025-03-04");
      assert.equal(run.code, packageReadable ? 0 : 1, run.out);
      assert.match(run.out, new RegExp(`WHO=${USER} `), run.out);
      assert.match(run.out, /running as the operating-system user "updraft-test-task"/);
      assert.match(run.out, new RegExp(`DENIED ${toml}`));
      assert.doesNotMatch(run.out, /READ \//, "the task read a file of the installation");
      if (packageReadable) {
        assert.match(
          run.out,
          new RegExp(`UID=${user!.uid}\\b`),
          "the TypeScript task runs as the default user",
        );
        assert.match(run.out, /TS EACCES/);
      } else {
        // Node itself is out of the user's reach here: the task fails saying so (it neither hangs
        // nor runs as the service's user).
        assert.match(run.out, /could not start a TaskFlow worker as the user "updraft-test-task"/);
        assert.doesNotMatch(run.out, /TS READ|UID=0\b/);
      }
      // The service itself still reads what it owns.
      assert.ok(readFileSync(toml, "utf8").includes("encryption_key"));
    },
  );

  test(
    "an unknown user fails the task with a message naming it (no run as the service's user)",
    { skip: !user },
    () => {
      const home = mkdtempSync(join(tmpdir(), "updraft-imp-"));
      mkdirSync(join(home, "dags"));
      const env = {
        ...process.env,
        UPDRAFT_HOME: home,
        UPDRAFT__DATABASE__URL: childUrl(get()),
        UPDRAFT__CORE__LOAD_EXAMPLES: "false",
      };
      writeFileSync(
        join(home, "dags", "ghost.ts"),
        `import { dag, bash } from "updraft";
export default dag({ dagId: "ghost" }, () => { bash("b", { runAsUser: "no-such-user-4242", command: "echo RAN" }); });
`,
      );
      const cli = (...args: string[]) => {
        const r = spawnSync(process.execPath, [MAIN, ...args], { env, encoding: "utf8", timeout: 120_000 });
        return { code: r.status, out: `${r.stdout}\n${r.stderr}` };
      };
      assert.equal(cli("db", "migrate").code, 0);
      const run = cli("dags", "test", "ghost", "2025-03-04");
      assert.notEqual(run.code, 0, run.out);
      assert.match(run.out, /run_as_user "no-such-user-4242": no such user/);
      assert.doesNotMatch(run.out, /^RAN$/m);
    },
  );
});
