import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { parse } from "smol-toml";
import { allOptions } from "./options.ts";
import { loadConfig } from "./load.ts";

const freshHome = () => mkdtempSync(join(tmpdir(), "updraft-home-"));

test("first run writes updraft.toml with every option commented and fresh keys, readable by its owner only", () => {
  const home = freshHome();
  const config = loadConfig({ env: { UPDRAFT_HOME: home } });
  const text = readFileSync(join(home, "updraft.toml"), "utf8");
  for (const { section, key } of allOptions()) {
    if (key === "encryption_key" || key === "secret_key") continue;
    assert.match(text, new RegExp(`^# ${key} = `, "m"), `[${section}] ${key} is listed`);
  }
  assert.equal(config.values.security.encryption_key.length, 43);
  assert.equal(statSync(join(home, "updraft.toml")).mode & 0o777, 0o600);
  const set = Object.entries(parse(text)).flatMap(([section, keys]) =>
    Object.keys(keys as object).map((k) => `${section}.${k}`),
  );
  assert.deepEqual(
    set,
    ["security.encryption_key", "api.secret_key"],
    "only the keys are set; the rest stay defaults",
  );
  assert.notEqual(config.values.api.secret_key, config.values.security.encryption_key);
  assert.equal(config.values.core.dags_folder, join(home, "dags"));
  assert.equal(config.values.database.url, `sqlite:///${home}/updraft.db`);
  assert.equal(
    loadConfig({ env: { UPDRAFT_HOME: home } }).values.security.encryption_key,
    config.values.security.encryption_key,
  );
});

test("precedence: environment over file over default, each with its source", () => {
  const home = freshHome();
  writeFileSync(
    join(home, "updraft.toml"),
    '[core]\nparallelism = 8\nload_examples = false\ndags_folder = "{UPDRAFT_HOME}/pipelines"\n',
  );
  const config = loadConfig({
    env: { UPDRAFT_HOME: home, UPDRAFT__CORE__PARALLELISM: "64", UPDRAFT__LOGGING__LEVEL_CMD: "echo debug" },
  });
  const entry = (s: string, k: string) => config.entries.find((e) => e.section === s && e.key === k)!;
  assert.equal(config.values.core.parallelism, 64);
  assert.equal(entry("core", "parallelism").source, "env UPDRAFT__CORE__PARALLELISM");
  assert.equal(config.values.core.load_examples, false);
  assert.equal(entry("core", "load_examples").source, join(home, "updraft.toml"));
  assert.equal(config.values.core.dags_folder, join(home, "pipelines"));
  assert.equal(config.values.logging.level, "debug");
  assert.equal(entry("logging", "level").source, "env UPDRAFT__LOGGING__LEVEL_CMD");
  assert.equal(entry("core", "max_active_runs_per_dag").source, "default");
});

test("bad values are refused with the option and the place named", () => {
  const home = freshHome();
  writeFileSync(join(home, "updraft.toml"), '[core]\nparallelism = "many"\n');
  assert.throws(
    () => loadConfig({ env: { UPDRAFT_HOME: home } }),
    /\[core\] parallelism in .*updraft\.toml is "many", which is not an integer/,
  );
  assert.throws(
    () => loadConfig({ env: { UPDRAFT_HOME: freshHome(), UPDRAFT__CORE__LOAD_EXAMPLES: "maybe" } }),
    /environment variable UPDRAFT__CORE__LOAD_EXAMPLES is "maybe", which is not a boolean/,
  );
  assert.throws(
    () => loadConfig({ env: { UPDRAFT_HOME: freshHome(), UPDRAFT__CORE__DEFAULT_TIMEZONE: "Mars/Olympus" } }),
    /not an IANA time zone/,
  );
  writeFileSync(join(home, "updraft.toml"), "[core\n");
  assert.throws(() => loadConfig({ env: { UPDRAFT_HOME: home } }), /is not valid TOML/);
});

test("unknown options are warnings, not failures", () => {
  const home = freshHome();
  // 0600, as Updraft writes it: a file others may read adds a warning of its own (checked below).
  writeFileSync(join(home, "updraft.toml"), "[core]\nparalelism = 3\n[nope]\nx = 1\n", { mode: 0o600 });
  chmodSync(join(home, "updraft.toml"), 0o600);
  const config = loadConfig({ env: { UPDRAFT_HOME: home } });
  assert.deepEqual(
    config.warnings.map((w) => w.replace(/^.*: /, "")),
    ["unknown option [core] paralelism is ignored", "unknown section [nope] is ignored"],
  );
  chmodSync(join(home, "updraft.toml"), 0o644);
  const loose = loadConfig({ env: { UPDRAFT_HOME: home } });
  assert.ok(
    loose.warnings.some((w) => w.includes(`chmod 600 ${join(home, "updraft.toml")}`)),
    loose.warnings.join("\n"),
  );
});

test("log limits that disagree are lowered with a warning, or refused with the fix", () => {
  const home = freshHome();
  const env = (extra: Record<string, string>) => ({ UPDRAFT_HOME: home, ...extra });
  const small = loadConfig({ env: env({ UPDRAFT__LOGGING__MAX_TOTAL_BYTES: String(8 * 1024 * 1024) }) });
  assert.equal(small.values.logging.max_bytes_per_try, 2 * 1024 * 1024, "one try gets a quarter of the cap");
  assert.ok(
    small.warnings.some((w) =>
      /max_bytes_per_try \(52428800\) is more than a quarter.*lowered to 2097152/.test(w),
    ),
    small.warnings.join("\n"),
  );
  const uncapped = loadConfig({ env: env({ UPDRAFT__LOGGING__MAX_TOTAL_BYTES: "0" }) });
  assert.equal(uncapped.values.logging.max_bytes_per_try, 52428800, "no cap: nothing to agree with");
  assert.throws(
    () => loadConfig({ env: env({ UPDRAFT__LOGGING__MAX_TOTAL_BYTES: "1000" }) }),
    /\[logging\] max_total_bytes is 1000: it must be 0 \(no cap\) or at least 1048576/,
  );
  assert.throws(
    () => loadConfig({ env: env({ UPDRAFT__LOGGING__CLEAN_INTERVAL_HOURS: "0" }) }),
    /\[logging\] clean_interval_hours is 0: it must be more than 0/,
  );
});
