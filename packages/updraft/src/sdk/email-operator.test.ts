/** email(): what it serializes, its Airflow names, and its definition errors. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { DagDefinitionError } from "../core/errors.ts";
import { operatorNameOf, templateFieldsOf } from "../api/dag-view.ts";
import { dag, email } from "./index.ts";

test("email() serializes its fields as templates and keeps task options apart", () => {
  const d = dag({ dagId: "mail" }, () => {
    email("send", {
      to: "a@example.com",
      subject: "Report {{ ds }}",
      html: "<p>{{ params.x }}</p>",
      files: ["/data/{{ ds }}.csv"],
      retries: 2,
    });
  });
  const [task] = d.serialize({ fileloc: "mail.ts" }).tasks;
  assert.equal(task!.kind, "email");
  assert.equal(task!.retries, 2);
  assert.deepEqual(task!.templateFields, {
    to: ["a@example.com"],
    subject: "Report {{ ds }}",
    html: "<p>{{ params.x }}</p>",
    files: ["/data/{{ ds }}.csv"],
    cc: [],
    bcc: [],
    from: null,
    connId: null,
  });
  assert.equal(typeof d.getTask("send")!.fn, "function", "it sends from the task's process");
  assert.equal(operatorNameOf("email"), "EmailOperator");
  assert.deepEqual(templateFieldsOf("email"), [
    "to",
    "subject",
    "html",
    "files",
    "cc",
    "bcc",
    "from",
    "connId",
  ]);
});

test("email() written the Airflow way, or without a recipient, is one definition error with hints", () => {
  assert.throws(
    () =>
      dag({ dagId: "mail" }, () => {
        email("send", { to: [], subject: "s", html_content: "<p>x</p>", conn_id: "smtp" } as never);
      }),
    (error: unknown) => {
      assert.ok(error instanceof DagDefinitionError);
      assert.match(error.message, /unknown option "html_content": Airflow's html_content is html here/);
      assert.match(error.message, /unknown option "conn_id".*connId/);
      assert.match(error.message, /email\(\) needs to as a string or a list of strings/);
      assert.match(error.message, /email\(\) needs html, a string/);
      return true;
    },
  );
});
