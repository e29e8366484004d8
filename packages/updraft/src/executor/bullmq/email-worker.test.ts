/**
 * Email from a BullMQ worker that holds no database URL, no key and no [smtp] settings: the email
 * operator's try gets the [smtp] section of the webserver's configuration through the Task Execution
 * API (GET /execution/email-settings) and sends from the worker; the test's SMTP server reads it back.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { triggerDagRun } from "../../operations/trigger-run.ts";
import { dagStore } from "../../storage/dags.ts";
import { childUrl, forEachDatabase } from "../../test-support/databases.ts";
import { cluster, startRedis, type Cluster, type PrivateRedis } from "../../test-support/distributed.ts";
import { assertBuilt, until } from "../../test-support/service-process.ts";
import { startSmtpServer, type TestSmtpServer } from "../../test-support/smtp.ts";

assertBuilt();

const DAG = `import { dag, email } from "updraft";
export default dag({ dagId: "worker_mail", schedule: null }, () => {
  email("send", { to: "team@example.com", subject: "from {{ ti.hostname }}: {{ run_id }}", html: "<p>sent by a worker</p>" });
});
`;

let redis: PrivateRedis;
let smtp: TestSmtpServer;
before(async () => {
  redis = await startRedis();
  smtp = await startSmtpServer();
});
after(async () => {
  await smtp?.close();
  await redis?.stop();
});

forEachDatabase(
  "email from a BullMQ worker",
  (get) => {
    let c: Cluster | undefined;
    after(async () => c?.stopAll());

    test("the email operator sends through the [smtp] section the webserver's configuration holds", async () => {
      const database = get();
      c = cluster(childUrl(database), redis, {
        env: {
          UPDRAFT__SMTP__SMTP_HOST: "127.0.0.1",
          UPDRAFT__SMTP__SMTP_PORT: String(smtp.port),
          UPDRAFT__SMTP__SMTP_STARTTLS: "false",
          UPDRAFT__SMTP__SMTP_MAIL_FROM: "cluster@example.com",
        },
      });
      writeFileSync(join(c.dags, "worker_mail.ts"), DAG);
      c.startScheduler();
      await c.startWebserver();
      await c.startWorker("mail-worker");
      await until(
        "the DAG to be parsed",
        60_000,
        async () => (await dagStore(database).get("worker_mail")) || undefined,
        100,
      );
      await triggerDagRun(database, { dagId: "worker_mail", runId: "r1" });
      const [mail] = await smtp.waitFor(1, 60_000).catch((error: Error) => {
        throw new Error(`${error.message}\n${c!.tails()}`);
      });
      assert.equal(mail!.parsed.subject, "from mail-worker: r1");
      assert.equal(mail!.envelope.from, "cluster@example.com");
      assert.deepEqual(mail!.envelope.to, ["team@example.com"]);
    });
  },
  { only: ["postgres"] },
);
