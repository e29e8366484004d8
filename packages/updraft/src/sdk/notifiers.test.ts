import { after, afterEach, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import { freePort } from "../test-support/distributed.ts";
import type { CallbackContext } from "./callback-types.ts";
import { setLookup } from "./lookups.ts";
import { slackWebhookNotifier, webhookNotifier } from "./notifiers.ts";

interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: unknown;
}

/** A real HTTP server on loopback that keeps what it gets and answers `status`. */
let server: Server;
let port: number;
let status = 200;
const received: Received[] = [];

before(async () => {
  port = await freePort();
  server = createServer((req, res) => {
    let text = "";
    req.on("data", (chunk: Buffer) => (text += chunk.toString()));
    req.on("end", () => {
      received.push({
        method: req.method!,
        url: req.url!,
        headers: req.headers,
        body: JSON.parse(text || "null"),
      });
      res.writeHead(status, { "content-type": "text/plain" }).end(status === 200 ? "ok" : "invalid_token");
    });
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));
afterEach(() => {
  received.length = 0;
  status = 200;
  setLookup(undefined);
});

function connections(byId: Record<string, Record<string, unknown>>) {
  setLookup(async (what, key) => {
    assert.equal(what, "connection");
    const c = byId[key];
    return c
      ? { conn_id: key, login: null, password: null, schema: null, port: null, extra: null, ...c }
      : null;
  });
}

const context: CallbackContext = {
  run_id: "scheduled__2026-01-01T00:00:00+00:00",
  dag: { dag_id: "etl", tags: [], owner: "airflow" },
  dag_run: {
    run_id: "scheduled__2026-01-01T00:00:00+00:00",
    run_type: "scheduled",
    conf: {},
    logical_date: "",
  },
  params: {},
  ti: {
    try_number: 1,
    max_tries: 0,
    map_index: -1,
    task_id: "load",
    dag_id: "etl",
    run_id: "scheduled__2026-01-01T00:00:00+00:00",
    queue: "default",
    hostname: null,
  },
  exception: { message: "boom", stack: null },
};

describe("slackWebhookNotifier", () => {
  test("posts the rendered text and blocks to the webhook URL in the connection's password", async () => {
    connections({
      slack_alerts: { conn_type: "slackwebhook", password: `http://127.0.0.1:${port}/services/T0/B0/xyz` },
    });
    const notifier = slackWebhookNotifier({
      slackWebhookConnId: "slack_alerts",
      text: ":red_circle: {{ dag.dag_id }}.{{ ti.task_id }} failed: {{ exception }}",
      blocks: [{ type: "section", text: { type: "mrkdwn", text: "*{{ run_id }}*" } }],
      unfurlLinks: false,
    });
    assert.equal(notifier.notifier, "slack_webhook");
    await notifier.notify(context);
    assert.equal(received.length, 1);
    assert.equal(received[0]!.method, "POST");
    assert.equal(received[0]!.url, "/services/T0/B0/xyz");
    assert.match(String(received[0]!.headers["content-type"]), /application\/json/);
    assert.deepEqual(received[0]!.body, {
      text: ":red_circle: etl.load failed: boom",
      blocks: [{ type: "section", text: { type: "mrkdwn", text: "*scheduled__2026-01-01T00:00:00+00:00*" } }],
      unfurl_links: false,
    });
  });

  test("a token in the password goes after the connection's host (Airflow's SlackWebhookHook)", async () => {
    connections({
      slack_default: { host: `127.0.0.1:${port}/services`, schema: "http", password: "T1/B1/abc" },
    });
    await slackWebhookNotifier({ text: "hello" }).notify(context);
    assert.equal(received[0]!.url, "/services/T1/B1/abc");
    assert.deepEqual(received[0]!.body, { text: "hello" });
  });

  test("Slack's refusal is the notify's error, without the webhook's secret path", async () => {
    status = 403;
    connections({ slack_default: { password: `http://127.0.0.1:${port}/services/T0/B0/secret` } });
    await assert.rejects(
      Promise.resolve(slackWebhookNotifier({ text: "x" }).notify(context)),
      (error: Error) => {
        assert.match(
          error.message,
          /Slack webhook connection "slack_default": POST .* answered 403: invalid_token/,
        );
        assert.doesNotMatch(error.message, /secret/);
        return true;
      },
    );
  });

  test("a missing connection or an empty webhook is a clear error", async () => {
    connections({ empty: { host: "hooks.example.com" } });
    await assert.rejects(
      Promise.resolve(slackWebhookNotifier({ slackWebhookConnId: "nope", text: "x" }).notify(context)),
      /connection "nope" does not exist/,
    );
    await assert.rejects(
      Promise.resolve(slackWebhookNotifier({ slackWebhookConnId: "empty", text: "x" }).notify(context)),
      /connection "empty" has no webhook/,
    );
  });
});

describe("webhookNotifier", () => {
  test("POSTs the rendered JSON body to the connection's URL and endpoint, with its headers", async () => {
    connections({
      alerts_api: {
        conn_type: "http",
        host: "127.0.0.1",
        port,
        login: "bot",
        password: "pw",
        extra: JSON.stringify({ "X-Team": "data" }),
      },
    });
    await webhookNotifier({
      connId: "alerts_api",
      endpoint: "/events/{{ dag.dag_id }}",
      body: { text: "{{ ti.task_id }} failed", try: 1, tags: ["{{ run_id }}"] },
      headers: { "X-Run": "{{ run_id }}" },
    }).notify(context);
    const [r] = received;
    assert.equal(r!.method, "POST");
    assert.equal(r!.url, "/events/etl");
    assert.equal(r!.headers["x-team"], "data");
    assert.equal(r!.headers["x-run"], "scheduled__2026-01-01T00:00:00+00:00");
    assert.equal(r!.headers.authorization, `Basic ${Buffer.from("bot:pw").toString("base64")}`);
    assert.deepEqual(r!.body, {
      text: "load failed",
      try: 1,
      tags: ["scheduled__2026-01-01T00:00:00+00:00"],
    });
  });

  test("without a body it sends a summary of the event; a host with a scheme is taken whole", async () => {
    connections({ http_default: { host: `http://127.0.0.1:${port}/hook` } });
    await webhookNotifier({ method: "PUT" }).notify(context);
    assert.equal(received[0]!.method, "PUT");
    assert.equal(received[0]!.url, "/hook");
    assert.deepEqual(received[0]!.body, {
      dag_id: "etl",
      run_id: "scheduled__2026-01-01T00:00:00+00:00",
      task_id: "load",
      map_index: -1,
      try_number: 1,
      reason: null,
      exception: "boom",
    });
  });

  test("a server that is not there: the error names the connection", async () => {
    const closed = await freePort();
    connections({ http_default: { host: "127.0.0.1", port: closed } });
    await assert.rejects(
      Promise.resolve(webhookNotifier().notify(context)),
      /connection "http_default": POST http:\/\/127\.0\.0\.1:\d+\/ failed: .*ECONNREFUSED/,
    );
  });

  test("unknown options are refused when the notifier is made", () => {
    assert.throws(() => webhookNotifier({ http_conn_id: "x" } as never), /unknown option http_conn_id/);
    assert.doesNotThrow(() => webhookNotifier({ httpConnId: "x", data: { a: 1 } }));
    assert.throws(() => slackWebhookNotifier({} as never), /needs text/);
  });
});
