import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import {
  ConnectionSchema,
  ConnectionUriError,
  connectionToUri,
  extraDejson,
  parseConnectionJson,
  parseConnectionUri,
  parseConnectionValue,
  type Connection,
} from "./uri.ts";

type Expected = Record<string, unknown>;
interface ParseVector {
  id: string;
  uri: string;
  parser: string;
  expected: Expected;
}
interface GetUriVector {
  id: string;
  connection: Record<string, unknown>;
  expected_uri?: string;
  expected_roundtrip?: Expected;
  expected_uri_per_docs?: string;
  expected_uri_per_code_c57fba0e?: string;
}
const VECTORS_FILE = new URL(
  "../../test-fixtures/airflow/airflow-connection-uri-vectors.json",
  import.meta.url,
);
const vectors = JSON.parse(readFileSync(VECTORS_FILE, "utf8")) as {
  parse_vectors: ParseVector[];
  get_uri_vectors: GetUriVector[];
};

/**
 * Vectors from parsers other than Airflow 3's core model that contradict it. We follow the core model:
 * - sdk-query-values-stay-strings: the task-sdk parser (at c57fba0e) keeps "30" a string; the core model
 *   JSON-decodes query values since PR #59339 (vector typed-query-values), giving 30.
 * - a2-extra-non-json-string, a2-extra-json-list: Airflow 2 accepted an extra that is not a JSON object
 *   (with a deprecation warning); Airflow 3 rejects it, and so do we.
 */
const CORE_MODEL_OVERRIDES: Record<string, (expected: Expected) => Expected> = {
  "sdk-query-values-stay-strings": (expected) => ({
    ...expected,
    extra_dejson: { charset: "utf8", timeout: 30 },
  }),
  "a2-extra-non-json-string": () => ({ error: "extra: must be a JSON object" }),
  "a2-extra-json-list": () => ({ error: "extra: must be a JSON object" }),
};

function actualField(conn: Connection, field: string): unknown {
  if (field === "conn_type") return conn.connType;
  if (field === "extra_dejson") return extraDejson(conn);
  return conn[field as keyof Connection];
}

function assertFields(conn: Connection, expected: Expected, label: string): void {
  for (const [field, value] of Object.entries(expected)) {
    assert.deepEqual(actualField(conn, field), value, `${label}: field ${field}`);
  }
}

function assertRejected(run: () => unknown, connId: string): ConnectionUriError {
  let caught: unknown;
  assert.throws(run, (error) => {
    caught = error;
    return error instanceof ConnectionUriError;
  });
  const error = caught as ConnectionUriError;
  assert.equal(error.code, "CONNECTION_URI_INVALID");
  assert.equal(error.connId, connId);
  assert.ok(error.message.includes(`"${connId}"`), error.message);
  return error;
}

/** The vectors give connections in Airflow's snake_case JSON form, which parseConnectionJson reads. */
function vectorConnection(fields: Record<string, unknown>): Connection {
  return parseConnectionJson("vector", JSON.stringify(fields));
}

describe("Airflow parse vectors", () => {
  for (const vector of vectors.parse_vectors) {
    const expected = CORE_MODEL_OVERRIDES[vector.id]?.(vector.expected) ?? vector.expected;
    test(`${vector.id}: ${vector.uri}`, () => {
      if ("error" in expected) {
        const error = assertRejected(() => parseConnectionUri("my_conn", vector.uri), "my_conn");
        // Our own expectations (overrides) name the reason; Airflow's wording is not ours to copy.
        if (vector.id in CORE_MODEL_OVERRIDES)
          assert.ok(error.message.includes(String(expected.error)), error.message);
        return;
      }
      assertFields(parseConnectionUri("my_conn", vector.uri), expected, vector.id);
    });
  }
});

describe("Airflow get_uri vectors", () => {
  for (const vector of vectors.get_uri_vectors) {
    test(vector.id, () => {
      const uri = connectionToUri(vectorConnection(vector.connection));
      if (vector.expected_uri !== undefined) assert.equal(uri, vector.expected_uri);
      if (vector.expected_roundtrip)
        assertFields(parseConnectionUri("rt", uri), vector.expected_roundtrip, vector.id);
      if (vector.expected_uri_per_code_c57fba0e !== undefined) {
        // The docs omit the "/" before "?"; the code writes it. We follow the code, and both parse alike.
        assert.equal(uri, vector.expected_uri_per_code_c57fba0e);
        assert.deepEqual(
          parseConnectionUri("x", vector.expected_uri_per_docs ?? ""),
          parseConnectionUri("x", uri),
        );
      }
    });
  }

  test("every get_uri vector parses back to its connection", () => {
    for (const vector of vectors.get_uri_vectors) {
      const conn = vectorConnection(vector.connection);
      const back = parseConnectionUri("vector", connectionToUri(conn));
      // A URI can't say "no host" or "no schema" apart from "empty", which Airflow parses as "".
      assert.deepEqual(back, { ...conn, host: conn.host ?? "", schema: conn.schema ?? "" }, vector.id);
    }
  });
});

describe("parseConnectionUri beyond the vectors", () => {
  test("the vectors file has every parse and get_uri vector", () => {
    assert.equal(vectors.parse_vectors.length, 33);
    assert.equal(vectors.get_uri_vectors.length, 8);
  });

  test("an unencoded '/' in the password fails without echoing the password", () => {
    const error = assertRejected(() => parseConnectionUri("db", "postgres://me:s3cr/et@host:5432/db"), "db");
    assert.ok(!error.message.includes("s3cr"), error.message);
    assert.match(error.message, /percent-encode/);
  });

  test("more than two '://' is rejected with a fix", () => {
    assert.match(assertRejected(() => parseConnectionUri("c", "a://b://c://d"), "c").message, /%3A%2F%2F/);
  });

  test("a URI without a type is rejected", () => {
    assert.match(
      assertRejected(() => parseConnectionUri("c", "//host:5432/db"), "c").message,
      /no connection type/,
    );
    assertRejected(() => parseConnectionUri("c", "host.example.com"), "c");
  });

  test("ports: 0 is a port, above 65535 and non-digits are errors, an empty port is none", () => {
    assert.equal(parseConnectionUri("c", "http://host:0").port, 0);
    assert.equal(parseConnectionUri("c", "http://host:").port, null);
    assertRejected(() => parseConnectionUri("c", "http://host:65536"), "c");
    assertRejected(() => parseConnectionUri("c", "http://host:-1"), "c");
    assertRejected(() => parseConnectionUri("c", "http://host:5432x"), "c");
  });

  test("IPv6 hosts in brackets; misplaced brackets are rejected", () => {
    const conn = parseConnectionUri("c", "postgres://u:p@[::1]:5432/db");
    assert.deepEqual([conn.host, conn.port, conn.login], ["::1", 5432, "u"]);
    assertRejected(() => parseConnectionUri("c", "postgres://[::1:5432/db"), "c");
    assertRejected(() => parseConnectionUri("c", "postgres://[127.0.0.1]:5432/db"), "c");
    assertRejected(() => parseConnectionUri("c", "postgres://x[::1]:5432/db"), "c");
  });

  test("host case: lower-cased up to the first '%', like Python's urlsplit().hostname", () => {
    assert.equal(parseConnectionUri("c", "type://MyHost%2DX.COM").host, "myhost-X.COM");
    assert.equal(parseConnectionUri("c", "type://%2FVar%2FRun").host, "/Var/Run");
  });

  test("the type: case-insensitive, postgresql becomes postgres, '-' becomes '_'", () => {
    const conn = parseConnectionUri("c", "Postgres://user@Host/Db");
    assert.deepEqual([conn.connType, conn.login, conn.host, conn.schema], ["postgres", "user", "host", "Db"]);
    assert.equal(parseConnectionUri("c", "postgresql://h").connType, "postgres");
    assert.equal(parseConnectionUri("c", "google-cloud-platform://").connType, "google_cloud_platform");
  });

  test("a fragment is dropped; percent escapes that are not UTF-8 or not hex never throw", () => {
    const conn = parseConnectionUri("c", "http://u%ZZ:p%C3@h/s#frag");
    assert.deepEqual([conn.login, conn.password, conn.schema], ["u%ZZ", "p\ufffd", "s"]);
  });

  test("query: form decoding, blank values, last duplicate wins, order kept, JSON text like Airflow's", () => {
    const conn = parseConnectionUri(
      "c",
      "http://h?b=a+b%2Bc&1=&b=2&flag=true&none=null&list=%5B1%2C2%5D&city=Z%C3%BCrich",
    );
    assert.equal(
      conn.extra,
      '{"b": 2, "1": "", "flag": true, "none": null, "list": [1, 2], "city": "Z\\u00fcrich"}',
    );
    assert.deepEqual(extraDejson(conn), {
      b: 2,
      "1": "",
      flag: true,
      none: null,
      list: [1, 2],
      city: "Zürich",
    });
  });

  test("query values a JS number would corrupt stay text", () => {
    const conn = parseConnectionUri("c", "http://h?id=12345678901234567890&big=1e400&ok=-42");
    assert.deepEqual(extraDejson(conn), { id: "12345678901234567890", big: "1e400", ok: -42 });
  });

  test("__extra__: must be a JSON object; empty means no extra; other keys are ignored", () => {
    assert.equal(parseConnectionUri("c", "http://h?__extra__=").extra, null);
    assert.equal(parseConnectionUri("c", "http://h?a=1&__extra__=%7B%22b%22%3A1%7D").extra, '{"b":1}');
    assert.match(
      assertRejected(() => parseConnectionUri("c", "http://h?__extra__=42"), "c").message,
      /extra: must be a JSON object/,
    );
    assertRejected(() => parseConnectionUri("c", "http://h?__extra__=%7Bbroken"), "c");
  });

  test("a bare '?' gives no extra, '?&' an empty one", () => {
    assert.equal(parseConnectionUri("c", "http://h?").extra, null);
    assert.equal(parseConnectionUri("c", "http://h?&").extra, "{}");
  });

  test("an empty connection id is rejected", () => {
    assertRejected(() => parseConnectionUri("", "http://h"), "");
  });
});

describe("connectionToUri", () => {
  const base: Connection = {
    connId: "c",
    connType: "postgres",
    description: null,
    host: null,
    login: null,
    password: null,
    schema: null,
    port: null,
    extra: null,
  };

  test("quotes every reserved character, '/' included", () => {
    const conn = {
      ...base,
      login: "dom/us er",
      password: "p@ss:w/rd?#%+&=ü",
      host: "db.local",
      schema: "a/b",
    };
    assert.equal(
      connectionToUri(conn),
      "postgres://dom%2Fus%20er:p%40ss%3Aw%2Frd%3F%23%25%2B%26%3D%C3%BC@db.local/a%2Fb",
    );
  });

  test("port only, login only, empty login with a password", () => {
    assert.equal(connectionToUri({ ...base, port: 5432 }), "postgres://@:5432");
    assert.equal(connectionToUri({ ...base, login: "me" }), "postgres://me@");
    assert.equal(connectionToUri({ ...base, login: "", password: "pw", host: "h" }), "postgres://:pw@h");
    assert.equal(connectionToUri({ ...base, login: "me", password: "", host: "h" }), "postgres://me@h");
  });

  test("'_' in the type is written as '-'", () => {
    assert.equal(connectionToUri({ ...base, connType: "google_cloud_platform" }), "google-cloud-platform://");
  });

  test("extras: string values as a query, anything else as __extra__", () => {
    assert.equal(connectionToUri({ ...base, host: "h", extra: '{"a": "x y*"}' }), "postgres://h/?a=x+y%2A");
    assert.equal(
      connectionToUri({ ...base, host: "h", schema: "s", extra: '{"n": 1}' }),
      "postgres://h/s?__extra__=%7B%22n%22%3A+1%7D",
    );
    assert.equal(connectionToUri({ ...base, host: "h", extra: "{}" }), "postgres://h/?__extra__=%7B%7D");
  });

  test("round trips awkward values", () => {
    const conns: Connection[] = [
      {
        ...base,
        login: "a:b@c/d",
        password: " p w%41+&=#?ü😀",
        host: "/var/Run/Sock",
        schema: "Db/Name",
        port: 1,
        extra: '{"k": "v&w=x"}',
      },
      { ...base, connType: "spark", host: "k8s://api.example.com:443", extra: '{"deploy-mode": "cluster"}' },
      { ...base, connType: "http", host: "http://example.com", schema: "" },
      {
        ...base,
        connType: "aws",
        login: "",
        password: "secret",
        extra: '{"region_name": "eu-west-1", "nested": {"a": [1, null]}}',
      },
    ];
    for (const conn of conns) {
      const back = parseConnectionUri("c", connectionToUri(conn));
      assert.deepEqual(
        back,
        { ...conn, host: conn.host ?? "", schema: conn.schema ?? "" },
        connectionToUri(conn),
      );
    }
  });
});

describe("parseConnectionJson", () => {
  test("Airflow's snake_case form, extra as an object (written as Python's json.dumps would)", () => {
    const conn = parseConnectionJson(
      "db",
      '{"conn_type": "postgresql", "host": "h", "login": "u", "password": "p", "schema": "s", "port": "5432", "extra": {"sslmode": "require", "n": [1]}}',
    );
    assert.deepEqual(conn, {
      connId: "db",
      connType: "postgres",
      description: null,
      host: "h",
      login: "u",
      password: "p",
      schema: "s",
      port: 5432,
      extra: '{"sslmode": "require", "n": [1]}',
    });
  });

  test("camelCase keys, extra as a string, description", () => {
    const conn = parseConnectionJson(
      "db",
      '{"connType": "http", "host": "h", "port": 80, "extra": "{\\"a\\": 1}", "description": "web"}',
    );
    assert.deepEqual(
      [conn.connType, conn.port, conn.extra, conn.description],
      ["http", 80, '{"a": 1}', "web"],
    );
  });

  test("falsy port, password and extra mean none, as in Airflow's from_json", () => {
    const conn = parseConnectionJson("db", '{"conn_type": "http", "port": 0, "password": "", "extra": {}}');
    assert.deepEqual([conn.port, conn.password, conn.extra], [null, null, null]);
  });

  test("errors name the connection and say what to fix", () => {
    assert.match(assertRejected(() => parseConnectionJson("db", "{nope"), "db").message, /not valid JSON/);
    assert.match(assertRejected(() => parseConnectionJson("db", "[1]"), "db").message, /must be an object/);
    assert.match(
      assertRejected(() => parseConnectionJson("db", '{"host": "h"}'), "db").message,
      /connection type/,
    );
    assert.match(
      assertRejected(() => parseConnectionJson("db", '{"conn_type": "x", "hots": "h"}'), "db").message,
      /unknown key "hots"/,
    );
    assert.match(
      assertRejected(() => parseConnectionJson("db", '{"conn_type": "x", "connType": "y"}'), "db").message,
      /twice/,
    );
    assert.match(
      assertRejected(() => parseConnectionJson("db", '{"conn_type": "x", "port": "abc"}'), "db").message,
      /port/,
    );
    assert.match(
      assertRejected(() => parseConnectionJson("db", '{"conn_type": "x", "port": 99999}'), "db").message,
      /port/,
    );
    assert.match(
      assertRejected(() => parseConnectionJson("db", '{"conn_type": "x", "extra": [1]}'), "db").message,
      /extra: must be a JSON object/,
    );
    assert.match(
      assertRejected(() => parseConnectionJson("db", '{"conn_type": "x", "extra": "plain"}'), "db").message,
      /extra/,
    );
    assert.match(
      assertRejected(() => parseConnectionJson("db", '{"conn_type": "x", "host": 5}'), "db").message,
      /host/,
    );
    assert.match(
      assertRejected(() => parseConnectionJson("db", '{"conn_type": "x", "__proto__": 1}'), "db").message,
      /unknown key/,
    );
  });
});

describe("parseConnectionValue", () => {
  test("JSON when the trimmed value starts with '{', else a URI", () => {
    assert.equal(parseConnectionValue("a", '  \n{"conn_type": "http", "host": "h"} ').host, "h");
    assert.equal(parseConnectionValue("a", "  mysql://u:p@h:3306/db \n").port, 3306);
  });

  test("an empty value is an error", () => {
    assert.match(assertRejected(() => parseConnectionValue("a", "   "), "a").message, /empty/);
  });
});

describe("ConnectionSchema and extraDejson", () => {
  test("the schema accepts parsed connections and rejects non-object extras", () => {
    const conn = parseConnectionUri("c", "http://h?a=1");
    assert.deepEqual(ConnectionSchema.parse(conn), conn);
    assert.equal(ConnectionSchema.safeParse({ ...conn, extra: "[1]" }).success, false);
    assert.equal(ConnectionSchema.safeParse({ ...conn, port: 1.5 }).success, false);
  });

  test("extraDejson gives {} for no extra or an unreadable one, as Airflow does", () => {
    assert.deepEqual(extraDejson({ extra: null }), {});
    assert.deepEqual(extraDejson({ extra: "" }), {});
    assert.deepEqual(extraDejson({ extra: "{broken" }), {});
    assert.deepEqual(extraDejson({ extra: "[1]" }), {});
  });
});
