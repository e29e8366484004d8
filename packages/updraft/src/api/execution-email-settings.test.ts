/**
 * A remote worker's sendEmail asks the Task Execution API for the installation's email settings
 * ([email], [smtp], [api] base_url): only a running try's token may ask, and no secret is in them.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { triggerDagRun } from "../operations/trigger-run.ts";
import { tryTokenKey, tryTokens } from "../secrets/try-tokens.ts";
import { forEachApiDatabase } from "../test-support/api.ts";

const DAGS = {
  "mail.ts": `import { dag, email } from "updraft";
export default dag({ dagId: "mail", schedule: null }, () => { email("send", { to: "a@example.com", subject: "s", html: "h" }); });`,
};

const ENV = {
  UPDRAFT__EMAIL__FROM_EMAIL: "ops@example.com",
  UPDRAFT__SMTP__SMTP_HOST: "mail.internal",
  UPDRAFT__SMTP__SMTP_PORT: "2525",
  UPDRAFT__SMTP__SMTP_SSL: "true",
  UPDRAFT__API__BASE_URL: "https://updraft.example.com/",
};

forEachApiDatabase("the Task Execution API's email settings", { dags: DAGS, env: ENV }, (get) => {
  test("a running try reads [email], [smtp] and the UI's base URL", async () => {
    const { app, database, config } = get();
    const run = await triggerDagRun(database, { dagId: "mail" });
    await database.db
      .updateTable("task_instance")
      .set({ state: "running", try_number: 1 })
      .where("dag_run_id", "=", run.id)
      .execute();
    const key = tryTokenKey(config.values.api.secret_key, config.values.security.encryption_key);
    const token = await tryTokens(key, 600).issue({
      dagId: "mail",
      runId: run.run_id,
      taskId: "send",
      mapIndex: -1,
      tryNumber: 1,
    });
    const asked = (authorization?: string) =>
      app.inject({
        method: "GET",
        url: "/execution/email-settings",
        headers: authorization ? { authorization } : {},
      });
    const r = await asked(`Bearer ${token}`);
    assert.equal(r.statusCode, 200, r.body);
    assert.deepEqual(r.json(), {
      email_conn_id: "smtp_default",
      from_email: "ops@example.com",
      subject_template: null,
      html_content_template: null,
      base_url: "https://updraft.example.com",
      smtp: {
        host: "mail.internal",
        port: 2525,
        starttls: true,
        ssl: true,
        mail_from: "updraft@example.com",
        timeout: 30,
        retry_limit: 5,
      },
    });
    assert.equal((await asked()).statusCode, 401, "without a try token");
  });
});
