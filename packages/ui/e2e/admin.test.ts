/**
 * The admin pages, the DAGs list and the trigger form in a real browser against a real standalone:
 * variables, connections (the password never reaches the page, the server keeps it), pools with used
 * slots, users (a Viewer created on the page logs in and sees no admin or trigger actions), the
 * audit log of it all; the DAGs list filtered, sorted, with recent-run squares; the trigger form
 * refusing an invalid param before sending and sending a valid one.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { Browser, Page } from "playwright-core";
import {
  eventually,
  launchBrowser,
  loggedInPage,
  missing,
  SCREENSHOTS,
  startStandalone,
  UPDRAFT_BIN,
  type Standalone,
} from "./harness.ts";

const SECRET = "pg-Secret-7f3c91";
const VIEWER_PASSWORD = "vera-Pass-2024";

const DAG_FILES = {
  "ui_pool_user.ts": `import { bash, dag } from "updraft";
export default dag({ dagId: "ui_pool_user", schedule: null, tags: ["admin-ui"] }, () => {
  for (const i of [1, 2, 3]) bash(\`hold_\${i}\`, { command: "sleep 30", pool: "ui_pool" });
});`,
  "ui_mixed.ts": `import { bash, dag } from "updraft";
export default dag({ dagId: "ui_mixed", schedule: null, tags: ["admin-ui"], params: { fail: false } }, () => {
  bash("maybe_fail", { command: '[ "{{ params.fail }}" != "true" ]' });
});`,
};

let server: Standalone;
let browser: Browser;
let page: Page;
/** Every API answer the admin's page received, to prove the connection's password never came. */
const received: string[] = [];

before(async () => {
  if (missing) return;
  server = await startStandalone({ dagFiles: DAG_FILES });
  browser = await launchBrowser();
  page = await loggedInPage(browser, server.base, "admin", server.password);
  page.on("response", (response) => {
    if (!/\/(api|auth)\//.test(response.url())) return;
    void response.text().then(
      (text) => received.push(text),
      () => undefined,
    );
  });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const go = async (path: string) => {
  await page.goto(`${server.base}${path}`);
};

/** `updraft <args>` against the standalone's home, with its standard output. */
function cliOutput(args: string[]): Promise<string> {
  const run = spawn(process.execPath, [UPDRAFT_BIN, ...args], {
    env: { ...process.env, UPDRAFT_HOME: server.home },
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  run.stdout!.on("data", (chunk: Buffer) => (out += chunk.toString()));
  return new Promise((resolve, reject) =>
    run.once("exit", (code) =>
      code === 0 ? resolve(out) : reject(new Error(`updraft ${args.join(" ")}: ${code}`)),
    ),
  );
}

test(
  "variables: create, edit and delete from the page, as the server then holds",
  { skip: missing },
  async () => {
    await go("/admin/variables");
    await page.getByRole("button", { name: "Add variable" }).click();
    const dialog = page.getByRole("dialog", { name: "Add variable" });
    await dialog.getByLabel("Key").fill("ui_var");
    await dialog.getByLabel("Value").fill('{"region": "eu"}');
    await dialog.getByLabel("Description").fill("made by the UI test");
    await dialog.getByRole("button", { name: "Save" }).click();
    // The server keeps JSON values in compact form, as Airflow does.
    await page.getByRole("table", { name: "Variables" }).getByText('{"region":"eu"}').waitFor();
    assert.equal((await server.apiGet("/api/v2/variables/ui_var")).value, '{"region":"eu"}');

    await page.getByRole("button", { name: "Edit ui_var" }).click();
    const edit = page.getByRole("dialog", { name: "Edit variable ui_var" });
    await edit.getByLabel("Value").fill('{"region": "us"}');
    await edit.getByRole("button", { name: "Save" }).click();
    await page.getByRole("table", { name: "Variables" }).getByText('{"region":"us"}').waitFor();
    assert.equal((await server.apiGet("/api/v2/variables/ui_var")).value, '{"region":"us"}');

    await page.getByLabel("Search variable keys").fill("nothing_like_this");
    await page.waitForURL(/search=nothing_like_this/);
    await page.getByText('No variables matching "nothing_like_this"').waitFor();
    await page.getByLabel("Search variable keys").fill("");

    await page.getByRole("button", { name: "Delete ui_var" }).click();
    await page
      .getByRole("dialog", { name: "Delete variable ui_var" })
      .getByRole("button", { name: "Delete" })
      .click();
    await page.getByText("No variables").waitFor();
    assert.equal((await server.apiSend("GET", "/api/v2/variables/ui_var")).status, 404);
  },
);

test("variables: imported from a JSON file and exported to one", { skip: missing }, async () => {
  await go("/admin/variables");
  await server.apiSend("POST", "/api/v2/variables", { key: "kept", value: "old" });
  await page.getByLabel("overwrite existing").uncheck();
  await page.getByLabel("Variables file").setInputFiles({
    name: "vars.json",
    mimeType: "application/json",
    buffer: Buffer.from(JSON.stringify({ kept: "new", region: "eu", limits: { rows: 100 } })),
  });
  await page.getByRole("status").filter({ hasText: "Imported 2 of 3 variables." }).waitFor();
  assert.equal((await server.apiGet("/api/v2/variables/kept")).value, "old", "skipped, not overwritten");
  assert.equal((await server.apiGet("/api/v2/variables/limits")).value, '{"rows":100}');
  await page.getByRole("table", { name: "Variables" }).getByText("region").waitFor();

  const [download] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("button", { name: "Export" }).click(),
  ]);
  assert.equal(download.suggestedFilename(), "variables.json");
  const exported = JSON.parse(
    Buffer.concat(await (await download.createReadStream()).toArray()).toString(),
  ) as Record<string, string>;
  assert.deepEqual(
    { kept: exported.kept, region: exported.region, limits: exported.limits },
    { kept: "old", region: "eu", limits: '{"rows":100}' },
  );

  await page.getByLabel("Variables file").setInputFiles({
    name: "bad.json",
    mimeType: "application/json",
    buffer: Buffer.from("[1, 2]"),
  });
  await page.getByRole("alert").filter({ hasText: "one JSON object" }).waitFor();
  for (const key of ["kept", "region", "limits"]) await server.apiSend("DELETE", `/api/v2/variables/${key}`);
});

test(
  "connections: the password is stored by the server and never sent to the page",
  { skip: missing },
  async () => {
    await go("/admin/connections");
    await page.getByRole("button", { name: "Add connection" }).click();
    const dialog = page.getByRole("dialog", { name: "Add connection" });
    await dialog.getByLabel("Connection id").fill("ui_conn");
    await dialog.getByLabel("Type").fill("postgres");
    await dialog.getByLabel("Host").fill("db.example");
    await dialog.getByLabel("Login").fill("bob");
    await dialog.getByLabel("Password").fill(SECRET);
    await dialog.getByRole("button", { name: "Save" }).click();
    const row = page.getByRole("row", { name: /ui_conn/ });
    await row.getByText("db.example").waitFor();
    await row.getByText("set", { exact: true }).waitFor();

    // Editing: the form shows no password; left empty, the stored one stays.
    await page.getByRole("button", { name: "Edit ui_conn" }).click();
    const edit = page.getByRole("dialog", { name: "Edit connection ui_conn" });
    assert.equal(await edit.getByLabel("Password").inputValue(), "");
    await edit.getByLabel("Host").fill("db2.example");
    await edit.getByRole("button", { name: "Save" }).click();
    await row.getByText("db2.example").waitFor();
    await page.reload();
    await row.getByText("db2.example").waitFor();

    const stored = JSON.parse(
      await cliOutput(["connections", "get", "ui_conn", "--reveal", "--output", "json"]),
    );
    const conn = Array.isArray(stored) ? stored[0] : stored;
    assert.equal(conn.password, SECRET, "the server keeps the password");
    assert.equal(conn.host, "db2.example");
    assert.ok(received.length > 5, "the page's API answers were recorded");
    for (const body of received) assert.ok(!body.includes(SECRET), `the page received the password: ${body}`);
    assert.equal((await server.apiGet("/api/v2/connections/ui_conn")).password, "***");
  },
);

test(
  "connections: the form follows the connection type registry (fields per type, secret extras hidden)",
  { skip: missing },
  async () => {
    await go("/admin/connections");
    await page.getByRole("button", { name: "Add connection" }).click();
    const dialog = page.getByRole("dialog", { name: "Add connection" });
    await dialog.getByLabel("Connection id").fill("ui_lite");
    await dialog.getByLabel("Type").fill("sqlite");
    await dialog.getByLabel("Database file").waitFor();
    assert.equal(await dialog.getByLabel("Login").count(), 0, "sqlite has no login");
    assert.equal(await dialog.getByLabel("Password", { exact: true }).count(), 0, "nor a password");
    await dialog.getByLabel("Type").fill("smtp");
    await dialog.getByLabel("Disable SSL").check();
    await dialog.getByLabel("Timeout (seconds)").fill("12");
    assert.deepEqual(JSON.parse(await dialog.getByLabel("Extra (JSON)").inputValue()), {
      disable_ssl: true,
      timeout: 12,
    });
    await dialog.getByLabel("Extra (JSON)").fill("");
    await dialog.getByLabel("Type").fill("http");
    const header = dialog.getByLabel("Authorization header");
    await header.waitFor();
    assert.equal(await header.getAttribute("type"), "password", "a secret extra is a password input");
    await header.fill("Bearer ui-extra-secret");
    assert.match(
      await dialog.getByLabel("Extra (JSON)").inputValue(),
      /"Authorization":"Bearer ui-extra-secret"/,
    );
    await dialog.getByLabel("Host").fill("https://api.example");
    await dialog.getByRole("button", { name: "Save" }).click();
    await page
      .getByRole("row", { name: /ui_lite/ })
      .getByText("https://api.example")
      .waitFor();
    const stored = await server.apiGet("/api/v2/connections/ui_lite");
    assert.equal(stored.extra, '{"Authorization":"***"}', "the API masks the secret extra");
  },
);

test(
  "pools: created on the page, with used slots shown while tasks hold them",
  { skip: missing },
  async () => {
    await go("/admin/pools");
    await page.getByRole("button", { name: "Add pool" }).click();
    const dialog = page.getByRole("dialog", { name: "Add pool" });
    await dialog.getByLabel("Name").fill("ui_pool");
    await dialog.getByLabel("Slots").fill("1");
    await dialog.getByLabel("Description").fill("one at a time");
    await dialog.getByRole("button", { name: "Save" }).click();
    await page.getByRole("row", { name: "Pool ui_pool" }).waitFor();
    assert.equal((await server.apiGet("/api/v2/pools/ui_pool")).slots, 1);

    await server.apiSend("PATCH", "/api/v2/dags/ui_pool_user", { is_paused: false });
    const run = await server.apiSend("POST", "/api/v2/dags/ui_pool_user/dagRuns", { logical_date: null });
    assert.equal(run.status, 200, JSON.stringify(run.body));
    await eventually(
      async () => {
        const pool = await server.apiGet("/api/v2/pools/ui_pool");
        assert.equal(pool.running_slots + pool.queued_slots, 1);
        assert.ok(pool.scheduled_slots >= 1, `scheduled ${pool.scheduled_slots}`);
      },
      60_000,
      "tasks holding ui_pool",
    );
    const bar = page.getByRole("img", { name: /^ui_pool: / });
    await eventually(
      async () => {
        const label = (await bar.getAttribute("aria-label")) ?? "";
        assert.match(label, /[1-9] scheduled/);
        assert.match(label, /1 (running|queued)|1 running|1 queued/);
      },
      20_000,
      "the pool's slot bar",
    );
    await page.screenshot({ path: join(SCREENSHOTS, "admin-pools.png") });

    // default_pool cannot be deleted: the server's reason is shown.
    await page.getByRole("button", { name: "Delete default_pool" }).click();
    const confirm = page.getByRole("dialog", { name: "Delete pool default_pool" });
    await confirm.getByRole("button", { name: "Delete" }).click();
    await confirm
      .getByRole("alert")
      .filter({ hasText: /default pool|default_pool/i })
      .waitFor();
    await confirm.getByRole("button", { name: "Cancel" }).click();
    assert.equal((await server.apiGet("/api/v2/pools/default_pool")).name, "default_pool");
  },
);

test(
  "users: a Viewer made on the page logs in and sees no admin or trigger actions",
  { skip: missing },
  async () => {
    await go("/admin/users");
    await page.getByRole("button", { name: "Add user" }).click();
    const dialog = page.getByRole("dialog", { name: "Add user" });
    await dialog.getByLabel("Username").fill("vera");
    await dialog.getByLabel("E-mail").fill("vera@example.com");
    await dialog.getByLabel("Role").selectOption("Viewer");
    await dialog.getByLabel("Password").fill(VIEWER_PASSWORD);
    await dialog.getByRole("button", { name: "Save" }).click();
    await page.getByRole("row", { name: "User vera" }).waitFor();
    const stored = await server.apiGet("/auth/fab/v1/users/vera");
    assert.deepEqual(stored.roles, [{ name: "Viewer" }]);
    assert.ok(!received.some((body) => body.includes("scrypt$")), "no password hash reached the page");

    const viewer = await loggedInPage(browser, server.base, "vera", VIEWER_PASSWORD);
    try {
      const nav = viewer.getByRole("navigation", { name: "Main" });
      await nav.getByRole("link", { name: "Pools" }).waitFor();
      assert.equal(await nav.getByRole("link", { name: "Users" }).count(), 0);
      await viewer.getByRole("link", { name: "example_params" }).waitFor();
      assert.equal(await viewer.getByRole("button", { name: /^Trigger/ }).count(), 0);
      await viewer.goto(`${server.base}/admin/pools`);
      await viewer.getByRole("row", { name: "Pool ui_pool" }).waitFor();
      assert.equal(await viewer.getByRole("button", { name: "Add pool" }).count(), 0);
      assert.equal(await viewer.getByRole("button", { name: /^Edit / }).count(), 0);
      await viewer.goto(`${server.base}/dags/example_params`);
      await viewer.getByRole("heading", { name: "example_params" }).waitFor();
      assert.equal(await viewer.getByRole("button", { name: "Trigger" }).count(), 0);
      assert.equal(await viewer.getByRole("button", { name: "Delete DAG" }).count(), 0);
    } finally {
      await viewer.context().close();
    }

    // Deactivated on the page, vera cannot log in; activated again, she can.
    await page.getByRole("switch", { name: "vera active" }).click();
    await eventually(async () =>
      assert.equal((await server.apiGet("/auth/fab/v1/users/vera")).active, false),
    );
    const token = (password: string) =>
      fetch(`${server.base}/auth/token`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ username: "vera", password }),
      }).then((r) => r.status);
    assert.equal(await token(VIEWER_PASSWORD), 401);
    await page.getByRole("switch", { name: "vera active" }).click();
    await eventually(async () => assert.equal((await server.apiGet("/auth/fab/v1/users/vera")).active, true));
    assert.equal(await token(VIEWER_PASSWORD), 201);
    await page.getByLabel("Role of vera").selectOption("User");
    await eventually(async () =>
      assert.deepEqual((await server.apiGet("/auth/fab/v1/users/vera")).roles, [{ name: "User" }]),
    );
  },
);

test(
  "the audit log lists those changes with the admin as owner, newest first",
  { skip: missing },
  async () => {
    await go("/admin/audit?owner=admin");
    const table = page.getByRole("table", { name: "Audit log" });
    for (const event of [
      "post_variable",
      "patch_variable",
      "delete_variable",
      "post_connection",
      "post_pool",
      "post_user",
      "patch_user",
    ])
      await table.getByRole("cell", { name: event, exact: true }).first().waitFor();
    const owners = await table.locator("tbody tr td:nth-child(2)").allTextContents();
    assert.ok(owners.length > 0 && owners.every((o) => o === "admin"), owners.join(","));
    const events = await table.locator("tbody tr td:nth-child(3)").allTextContents();
    assert.equal(events[0], "patch_user", "newest first");
    await page.getByLabel("Event").fill("post_pool");
    await page.waitForURL(/event=post_pool/);
    await eventually(async () => {
      const only = await table.locator("tbody tr td:nth-child(3)").allTextContents();
      assert.deepEqual(only, ["post_pool"]);
    }, 10_000);
  },
);

test(
  "the trigger form refuses an invalid param before sending and sends a valid one",
  { skip: missing },
  async () => {
    const posted: string[] = [];
    page.on("request", (request) => {
      if (request.method() === "POST" && /\/dags\/example_params\/dagRuns$/.test(request.url()))
        posted.push(request.url());
    });
    await go("/?search=example_params");
    await page.getByRole("button", { name: "Trigger example_params" }).click();
    const dialog = page.getByRole("dialog", { name: "Trigger example_params" });
    const repeat = dialog.getByLabel(/^repeat/);
    assert.equal(await repeat.inputValue(), "2");
    assert.equal(await dialog.getByLabel(/^environment/).inputValue(), "staging");
    await repeat.fill("9");
    await dialog.getByRole("button", { name: "Trigger" }).click();
    await dialog.getByText("Must be at most 5.").waitFor();
    assert.equal(await repeat.getAttribute("aria-invalid"), "true");
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(posted.length, 0, "nothing was sent");
    assert.equal((await server.apiGet("/api/v2/dags/example_params/dagRuns")).total_entries, 0);

    await repeat.fill("3");
    await dialog.getByLabel(/^name/).fill("from the form");
    await dialog.getByLabel(/^environment/).selectOption("production");
    await dialog.getByRole("button", { name: "Trigger" }).click();
    const notice = await page
      .getByRole("status")
      .filter({ hasText: "Triggered example_params" })
      .textContent();
    const runId = notice!.replace(/^.*run /, "").trim();
    const run = await server.apiGet(`/api/v2/dags/example_params/dagRuns/${encodeURIComponent(runId)}`);
    assert.equal(run.conf.repeat, 3);
    assert.equal(run.conf.name, "from the form");
    assert.equal(run.conf.environment, "production");
    assert.equal(run.conf.dryRun, true);
    assert.equal(posted.length, 1);
  },
);

test(
  "the DAGs list: filter by tag, sort by a column, the recent runs as squares",
  { skip: missing },
  async () => {
    await server.apiSend("PATCH", "/api/v2/dags/ui_mixed", { is_paused: false });
    const confs = [{ fail: false }, { fail: true }, { fail: false }, { fail: false }];
    for (const conf of confs) {
      const r = await server.apiSend("POST", "/api/v2/dags/ui_mixed/dagRuns", { logical_date: null, conf });
      assert.equal(r.status, 200, JSON.stringify(r.body));
    }
    await eventually(
      async () => {
        const runs = await server.apiGet("/api/v2/dags/ui_mixed/dagRuns");
        const states = runs.dag_runs.map((r: { state: string }) => r.state).sort();
        assert.deepEqual(states, ["failed", "success", "success", "success"]);
      },
      90_000,
      "ui_mixed's runs to finish",
    );

    await go("/");
    await page.getByLabel("Tag", { exact: true }).selectOption("admin-ui");
    await page.waitForURL(/tag=admin-ui/);
    const table = page.getByRole("table", { name: "DAGs" });
    await eventually(
      async () => {
        const ids = await table.locator("tbody tr td:nth-child(2) strong").allTextContents();
        assert.deepEqual(ids, ["ui_mixed", "ui_pool_user"]);
      },
      10_000,
      "the tag filter",
    );
    await page.getByRole("button", { name: "Sort by DAG" }).click();
    await page.waitForURL(/sort=-dag_id/);
    await eventually(
      async () => {
        const ids = await table.locator("tbody tr td:nth-child(2) strong").allTextContents();
        assert.deepEqual(ids, ["ui_pool_user", "ui_mixed"]);
      },
      10_000,
      "the sort",
    );
    const squares = page.getByRole("list", { name: "Recent runs of ui_mixed" }).locator("a");
    await eventually(
      async () => {
        const states = await squares.evaluateAll((els) => els.map((e) => e.getAttribute("data-state")));
        assert.equal(states.length, 4);
        assert.deepEqual([...states].sort(), ["failed", "success", "success", "success"]);
      },
      20_000,
      "the recent-run squares",
    );

    await page.getByLabel("Tag", { exact: true }).selectOption("");
    await page.getByRole("button", { name: "Sort by DAG" }).click();
    await page.waitForURL((url) => !url.search.includes("tag="));
    await page.getByRole("list", { name: "Recent runs of example_params" }).waitFor();
    await page.screenshot({ path: join(SCREENSHOTS, "dags.png"), fullPage: true });
  },
);

test(
  "an admin deletes a DAG's records from its page, after a confirmation naming it",
  { skip: missing },
  async () => {
    await go("/dags/ui_mixed");
    await page.getByRole("button", { name: "Delete DAG" }).click();
    const dialog = page.getByRole("dialog", { name: "Delete ui_mixed" });
    await dialog.getByText(/runs, task instances/).waitFor();
    await dialog.getByRole("button", { name: "Delete DAG" }).click();
    await page.waitForURL((url) => url.pathname === "/");
    // The file stays, so the DAG may come back when parsed again, but with none of its runs.
    const runs = await server.apiSend("GET", "/api/v2/dags/ui_mixed/dagRuns");
    assert.ok(runs.status === 404 || runs.body.total_entries === 0, JSON.stringify(runs.body));
  },
);

test(
  "the Workers page says tasks run on the schedulers' machines with the local executor",
  { skip: missing },
  async () => {
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Workers" }).click();
    await page.getByRole("heading", { name: "Workers" }).waitFor();
    await page.getByText(/Tasks run on the schedulers' machines/).waitFor();
    const health = (await server.apiGet("/api/v2/monitor/health")) as { executor: { name: string } };
    assert.equal(health.executor.name, "local");
  },
);
