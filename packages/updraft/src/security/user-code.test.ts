/**
 * What user code sees (issue 13, items 3, 9, 10): DAG files at parse time, bash and TypeScript tasks
 * at run time get an allow-listed environment, never the installation's keys or the database URL;
 * whatever secret a task finds some other way, and the sensitive extras of connections its templates
 * resolve, are masked in its log. A real `updraft` process per command, on each database.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { userCodeEnv } from "../core/child-env.ts";
import { loadConfig } from "../config/load.ts";
import { LogSecrets } from "../scheduler/runtime.ts";
import { createCipher } from "../secrets/cipher.ts";
import { connectionStore } from "../storage/connections.ts";
import { variableStore } from "../storage/variables.ts";
import { childUrl, forEachDatabase } from "../test-support/databases.ts";

const MAIN = fileURLToPath(new URL("../cli/main.ts", import.meta.url));
const SECRET_KEY = "signing-secret-for-the-test-4c1d";
const EXTRA_TOKEN = "extra-token-value-9f8e7d";

test("the allow-list keeps PATH, locale and the user's UPDRAFT_VAR_/CONN_, drops UPDRAFT__* and the rest", () => {
  const env = userCodeEnv(
    {
      PATH: "/bin",
      LC_ALL: "C.UTF-8",
      UPDRAFT_VAR_REGION: "eu",
      UPDRAFT_CONN_WAREHOUSE: "postgres://w",
      UPDRAFT__DATABASE__URL: "postgresql://u:p@db/x",
      UPDRAFT__SECURITY__ENCRYPTION_KEY_CMD: "cat key",
      UPDRAFT_HOME: "/srv/updraft",
      AWS_SECRET_ACCESS_KEY: "aws",
    },
    { UPDRAFT_CTX_DAG_ID: "d" },
  );
  assert.deepEqual(Object.keys(env).sort(), [
    "LC_ALL",
    "PATH",
    "UPDRAFT_CONN_WAREHOUSE",
    "UPDRAFT_CTX_DAG_ID",
    "UPDRAFT_VAR_REGION",
  ]);
});

forEachDatabase("user code never holds the installation's keys", (get) => {
  test("parse time and run time: no UPDRAFT__*, no database URL; keys read from disk are masked", () => {
    const url = childUrl(get());
    const home = mkdtempSync(join(tmpdir(), "updraft-usercode-"));
    const dags = join(home, "dags");
    mkdirSync(dags);
    const env = {
      ...process.env,
      UPDRAFT_HOME: home,
      UPDRAFT__DATABASE__URL: url,
      UPDRAFT__API__SECRET_KEY: SECRET_KEY,
      UPDRAFT__CORE__LOAD_EXAMPLES: "false",
      UPDRAFT__CORE__DAGBAG_IMPORT_TIMEOUT: "10",
    };
    const cli = (...args: string[]) => {
      const r = spawnSync(process.execPath, [MAIN, ...args], { env, encoding: "utf8", timeout: 90_000 });
      return { code: r.status, out: `${r.stdout}\n${r.stderr}` };
    };
    assert.equal(cli("config", "list").code, 0, "writes updraft.toml with a fresh encryption key");
    const toml = readFileSync(join(home, "updraft.toml"), "utf8");
    const encryptionKey = /^encryption_key\s*=\s*"([^"]+)"/m.exec(toml)?.[1];
    assert.ok(encryptionKey, "the generated config holds the encryption key");
    // A DAG file that dumps its environment when it is parsed, a bash task and a TypeScript task that
    // print theirs, and both print the key read from the config file (they run as the service's user).
    const dump = join(home, "parse-env.json");
    writeFileSync(
      join(dags, "snoop.ts"),
      `import { writeFileSync, readFileSync } from "node:fs";
import { dag, bash, task } from "updraft";
writeFileSync(${JSON.stringify(dump)}, JSON.stringify(process.env));
const key = () => /^encryption_key\\s*=\\s*"([^"]+)"/m.exec(readFileSync(${JSON.stringify(join(home, "updraft.toml"))}, "utf8"))?.[1];
export default dag({ dagId: "snoop" }, () => {
  const shell = bash("shell", {
    command: "env | sed 's/^/ENV /'; grep encryption_key ${join(home, "updraft.toml")}; echo token={{ conn.vault.extra_dejson.api_token }}",
  });
  const ts = task("ts", () => {
    for (const [k, v] of Object.entries(process.env)) console.log("ENV " + k + "=" + v);
    console.log("key=" + key());
  });
  shell.before(ts());
});
`,
    );
    assert.equal(cli("db", "migrate").code, 0);
    const added = cli(
      "connections",
      "add",
      "vault",
      "--conn-json",
      JSON.stringify({
        conn_type: "http",
        host: "vault.example",
        extra: JSON.stringify({ api_token: EXTRA_TOKEN }),
      }),
    );
    assert.equal(added.code, 0, added.out);
    const run = cli("dags", "test", "snoop", "2025-03-04");
    assert.equal(run.code, 0, run.out);

    const parsed = JSON.parse(readFileSync(dump, "utf8")) as Record<string, string>;
    const leaks = (where: string, names: string[], text: string) => {
      for (const name of names)
        assert.ok(!/^UPDRAFT__/.test(name) && name !== "UPDRAFT_HOME", `${where} got ${name}`);
      for (const secret of [SECRET_KEY, encryptionKey, url])
        assert.ok(!text.includes(secret), `${where} holds ${secret.slice(0, 12)}...`);
    };
    leaks("the DAG file at parse time", Object.keys(parsed), JSON.stringify(parsed));
    assert.ok(parsed.PATH, "PATH is passed");
    const envLines = run.out.split("\n").filter((l) => l.includes("ENV "));
    assert.ok(envLines.length > 4, `the tasks printed their environment:\n${run.out}`);
    leaks(
      "a task",
      envLines.map((l) => l.replace(/^.*ENV /, "").split("=")[0]!),
      run.out,
    );
    assert.match(run.out, /encryption_key = "\*\*\*"/, "the key a bash task read from disk is masked");
    assert.match(run.out, /key=\*\*\*/, "the key a TypeScript task read from disk is masked");
    assert.match(run.out, /token=\*\*\*/, "a connection's sensitive extra is masked");
    assert.ok(!run.out.includes(EXTRA_TOKEN));
    const logs = join(home, "logs", "dag_id=snoop");
    const files = readdirSync(logs, { recursive: true }).map(String);
    assert.ok(
      files.some((f) => f.endsWith(".log") || f.endsWith(".gz")),
      "the tries wrote logs",
    );
  });
});

forEachDatabase("the log masker follows stored secrets as they change", (get) => {
  test("a secret created, changed or added as a connection is masked by the next try within a second (10)", async () => {
    const database = get();
    const home = mkdtempSync(join(tmpdir(), "updraft-masker-"));
    const config = loadConfig({ env: { UPDRAFT_HOME: home, UPDRAFT__CORE__LOAD_EXAMPLES: "false" } });
    const cipher = createCipher(config.values.security.encryption_key);
    const secrets = new LogSecrets({ config, database, cipher });
    const variables = variableStore(database, cipher);
    const masked = async (text: string) => {
      // A try that starts a second later (a scheduler that has run for hours keeps its LogSecrets).
      await new Promise((r) => setTimeout(r, 1100));
      return (await secrets.current()).mask(text);
    };
    assert.equal((await secrets.current()).mask("fresh-secret-1"), "fresh-secret-1");
    await variables.set({ key: "masker_api_key", value: "fresh-secret-1" });
    assert.equal(await masked("x fresh-secret-1 y"), "x *** y");
    await variables.set({ key: "masker_api_key", value: "changed-secret-2" });
    assert.equal(await masked("changed-secret-2"), "***");
    await connectionStore(database, cipher).set({
      connId: "masker_conn",
      connType: "http",
      description: null,
      host: "h",
      schema: null,
      login: null,
      password: "conn-password-3",
      port: null,
      extra: null,
    });
    assert.equal(await masked("conn-password-3"), "***");
    await variables.delete("masker_api_key");
    await database.db.deleteFrom("connection").where("conn_id", "=", "masker_conn").execute();
    rmSync(home, { recursive: true, force: true });
  });
});
