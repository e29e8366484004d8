/** The template context against the worked examples of Airflow's template reference. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { DagRunRow, TaskInstanceRow } from "../storage/schema.ts";
import { serializedDag, serializedTask } from "../test-support/serialized.ts";
import { buildContext, contextForTask, renderFields, type Lookups } from "./task-context.ts";

const task = serializedTask("extract");
const dag = serializedDag("example_dag", [task]);
const ti = {
  try_number: 1,
  max_tries: 0,
  map_index: -1,
  task_id: "extract",
  dag_id: "example_dag",
  run_id: "r",
  start_date: "2024-01-16T00:00:05.000Z",
} as TaskInstanceRow;
const run = (extra: Partial<DagRunRow>) =>
  ({
    run_id: "scheduled__2024-01-15T00:00:00+00:00",
    run_type: "scheduled",
    conf: '{"x": 1}',
    logical_date: "2024-01-15T00:00:00.000Z",
    run_after: "2024-01-16T00:00:00.000Z",
    data_interval_start: "2024-01-15T00:00:00.000Z",
    data_interval_end: "2024-01-16T00:00:00.000Z",
    ...extra,
  }) as DagRunRow;
const none: Lookups = { variables: new Map(), connections: new Map() };
const render = (template: string, r = run({}), lookups = none) =>
  renderFields({ f: template }, buildContext(dag, task, r, ti, lookups), "test").f;

describe("worked example 2: a daily DAG, the run covering 2024-01-15 (data-interval semantics)", () => {
  const cases: [string, string][] = [
    ["{{ ds }} / {{ ds_nodash }}", "2024-01-15 / 20240115"],
    ["{{ ts }}", "2024-01-15T00:00:00+00:00"],
    ["{{ ts_nodash }} / {{ ts_nodash_with_tz }}", "20240115T000000 / 20240115T000000+0000"],
    [
      "{{ data_interval_start }} .. {{ data_interval_end }}",
      "2024-01-15T00:00:00+00:00 .. 2024-01-16T00:00:00+00:00",
    ],
    ["{{ logical_date }}", "2024-01-15T00:00:00+00:00"],
    ["{{ task_instance_key_str }}", "example_dag__extract__20240115"],
    ["{{ run_id }}", "scheduled__2024-01-15T00:00:00+00:00"],
    ["{{ macros.ds_add(ds, 7) }}", "2024-01-22"],
    ["{{ dag_run.conf.get('x') }}", "1"],
    ["{{ dag_run.conf.get('missing', 'fallback') }}", "fallback"],
    ["{{ data_interval_end | ds }}", "2024-01-16"],
  ];
  for (const [template, expected] of cases) test(template, () => assert.equal(render(template), expected));
});

describe("formatting rules and macros", () => {
  test("a sub-second logical date keeps its fraction in ts and ts_nodash_with_tz, not in ts_nodash", () => {
    const r = run({ logical_date: "2024-03-10T07:00:00.123Z" });
    assert.equal(
      render("{{ ts }}|{{ ts_nodash }}|{{ ts_nodash_with_tz }}", r),
      "2024-03-10T07:00:00.123000+00:00|20240310T070000|20240310T070000.123000+0000",
    );
  });
  test("ds_add and ds_format, the reference's vectors", () => {
    assert.equal(
      render(
        '{{ macros.ds_add("2015-01-01", 5) }} {{ macros.ds_add("2015-01-06", -5) }} {{ macros.ds_add("2024-03-01", -1) }} {{ macros.ds_add("2024-01-15", 0) }}',
      ),
      "2015-01-06 2015-01-01 2024-02-29 2024-01-15",
    );
    assert.equal(
      render(
        '{{ macros.ds_format("2015-01-01", "%Y-%m-%d", "%m-%d-%y") }} {{ macros.ds_format("1/5/2015", "%m/%d/%Y", "%Y-%m-%d") }}',
      ),
      "01-01-15 2015-01-05",
    );
  });
  test("prev_*_success from the previous successful run, None without one", () => {
    const lookups: Lookups = {
      ...none,
      previousSuccess: {
        data_interval_start: "2024-01-14T00:00:00.000Z",
        data_interval_end: "2024-01-15T00:00:00.000Z",
        start_date: "2024-01-15T00:00:01.000Z",
        end_date: "2024-01-15T00:02:00.000Z",
      },
    };
    assert.equal(
      render("{{ prev_data_interval_start_success }} {{ prev_start_date_success }}", run({}), lookups),
      "2024-01-14T00:00:00+00:00 2024-01-15T00:00:01+00:00",
    );
    // Without one they are null: printed as Jinja prints Python's None, false in a test, `or` for a default.
    assert.equal(render("{{ prev_data_interval_end_success }}"), "None");
    assert.equal(render("{% if prev_start_date_success %}yes{% else %}no{% endif %}"), "no");
    assert.equal(render('{{ prev_data_interval_end_success or "none yet" }}'), "none yet");
  });
  test("worked example 1's connection and variable lookups, with .get()", () => {
    const lookups: Lookups = {
      variables: new Map([["region", "eu"]]),
      connections: new Map([
        [
          "a_connection",
          {
            host: "hostvalue",
            login: "loginvalue",
            schema: "schemavalues",
            extra_dejson: { extra__asana__workspace: "extra1" },
          },
        ],
      ]),
    };
    assert.equal(
      render(
        '{{ conn.a_connection.host }} {{ conn.get("a_connection").host }} {{ conn.a_connection.extra_dejson.extra__asana__workspace }}',
        run({}),
        lookups,
      ),
      "hostvalue hostvalue extra1",
    );
    assert.equal(
      render("{{ var.value.region }} {{ var.value.get('nope', 'dflt') }}", run({}), lookups),
      "eu dflt",
    );
  });
  test("an undefined variable is an error naming the field; a null value prints None", () => {
    assert.throws(() => render("{{ nope }}"), /test: the template in fields\.f could not be rendered/);
    assert.throws(() => render("{{ dag_run.conf.missing }}"), /could not be rendered/);
    assert.equal(
      render("x={{ dag_run.conf.empty }}", run({ conf: JSON.stringify({ empty: null }) })),
      "x=None",
    );
  });
});

describe("macros.datetime and macros.timedelta (Airflow's datetime and timedelta modules)", () => {
  const cases: [string, string][] = [
    ["{{ macros.datetime(2024, 1, 1) }}", "2024-01-01T00:00:00+00:00"],
    ["{{ macros.datetime(year=2024, month=2, day=29, hour=13) }}", "2024-02-29T13:00:00+00:00"],
    ["{{ macros.datetime(2024, 1, 31).plus(macros.timedelta(days=1)) | ds }}", "2024-02-01"],
    ["{{ macros.datetime(2024, 1, 31).plus(days=1, hours=6) }}", "2024-02-01T06:00:00+00:00"],
    // From the run's own dates: logical_date is 2024-01-15T00:00:00+00:00 here.
    [
      "{{ macros.datetime.fromisoformat(logical_date).minus(macros.timedelta(hours=1)).strftime('%Y-%m-%d %H:%M') }}",
      "2024-01-14 23:00",
    ],
    ["{{ macros.datetime.fromisoformat(data_interval_end).add(months=1) }}", "2024-02-16T00:00:00+00:00"],
    ["{{ macros.datetime(2024, 3, 31).subtract(months=1) | ds }}", "2024-02-29"],
    ["{{ macros.datetime.fromisoformat(ts) == ts }}", "true"],
    ["{{ macros.datetime.fromisoformat(ts).isoformat() == logical_date }}", "true"],
    [
      "{{ macros.datetime.fromisoformat('2024-03-10T07:00:00.123+00:00').isoformat() }} {{ macros.datetime.fromisoformat('2024-03-10T07:00:00.123Z').microsecond }}",
      "2024-03-10T07:00:00.123000+00:00 123000",
    ],
    ["{{ macros.datetime.strptime('05/01/2024', '%d/%m/%Y').isoformat(' ') }}", "2024-01-05 00:00:00+00:00"],
    ["{{ macros.datetime(2024, 1, 1).replace(day=15, hour=6) }}", "2024-01-15T06:00:00+00:00"],
    [
      "{{ macros.datetime(2024, 1, 1).strftime('%A %d %B %Y, %j, %a %b %e, %I %p, %f, %z %Z, %%') }}",
      "Monday 01 January 2024, 001, Mon Jan  1, 12 AM, 000000, +0000 UTC, %",
    ],
    [
      "{{ macros.datetime(2024, 1, 6).strftime('%U %W') }} {{ macros.datetime(2024, 1, 7).strftime('%U %W') }}",
      "00 01 01 01",
    ],
    ["{{ macros.datetime(2024, 1, 1).weekday() }} {{ macros.datetime(2024, 1, 1).isoweekday() }}", "0 1"],
    [
      "{{ macros.datetime(2024, 1, 1).date() }} {{ macros.datetime(2024, 1, 1).timestamp() }}",
      "2024-01-01 1704067200",
    ],
    // A zone: printed with its offset, formatted in it, and moved to another.
    ["{{ macros.datetime(2024, 7, 1, 12, tzinfo='Europe/Paris') }}", "2024-07-01T12:00:00+02:00"],
    ["{{ macros.datetime(2024, 7, 1, 1, tzinfo='Europe/Paris') | ds }}", "2024-07-01"],
    [
      "{{ macros.datetime(2024, 7, 1, 1, tzinfo='Europe/Paris').in_timezone('UTC') }}",
      "2024-06-30T23:00:00+00:00",
    ],
    [
      "{{ macros.datetime.fromisoformat(logical_date).in_timezone('Asia/Tokyo') | ts_nodash_with_tz }}",
      "20240115T090000+0900",
    ],
    // timedelta prints and counts as Python's does; a datetime minus a datetime is one.
    ["{{ macros.timedelta(days=1, hours=2, minutes=3, seconds=4) }}", "1 day, 2:03:04"],
    [
      "{{ macros.timedelta(hours=-1) }} | {{ macros.timedelta(weeks=2) }}",
      "-1 day, 23:00:00 | 14 days, 0:00:00",
    ],
    [
      "{{ macros.timedelta(1).total_seconds() }} {{ macros.timedelta(milliseconds=1500) }}",
      "86400 0:00:01.500000",
    ],
    ["{{ macros.datetime(2024, 1, 2, 6).minus(macros.datetime(2024, 1, 1)) }}", "1 day, 6:00:00"],
    ["{{ macros.datetime(2024, 1, 2).minus(macros.datetime(2024, 1, 1)).days }}", "1"],
    // Datetimes compare as moments.
    ["{% if macros.datetime.now() > macros.datetime.fromisoformat(logical_date) %}later{% endif %}", "later"],
    ["{{ macros.ds_add(macros.datetime(2024, 2, 28).date(), 1) }}", "2024-02-29"],
  ];
  for (const [template, expected] of cases) test(template, () => assert.equal(render(template), expected));

  test("now() is now, in UTC or in a zone", () => {
    const before = Date.now();
    const now = Date.parse(String(render("{{ macros.datetime.now() }}")));
    assert.ok(now >= before - 1000 && now <= Date.now() + 1000);
    assert.match(String(render("{{ macros.datetime.now(tz='Asia/Tokyo') }}")), /\+09:00$/);
    assert.match(String(render("{{ macros.datetime.utcnow() }}")), /\+00:00$/);
  });

  test("mistakes name the macro and what it takes", () => {
    assert.throws(
      () => render("{{ macros.timedelta(dayz=1) }}"),
      /macros\.timedelta: unknown argument "dayz"/,
    );
    assert.throws(
      () => render("{{ macros.datetime(2024, 1, 1).strftime('%Q') }}"),
      /strftime does not support %Q/,
    );
    assert.throws(() => render("{{ macros.datetime(2024, 1) }}"), /macros\.datetime: day is required/);
    assert.throws(() => render("{{ macros.datetime(2024, 13, 1) }}"), /not a valid datetime/);
    assert.throws(
      () => render("{{ macros.datetime.fromisoformat('soon') }}"),
      /"soon" is not an ISO-8601 date/,
    );
    assert.throws(
      () => render("{{ macros.datetime(2024, 1, 1).in_timezone('Mars/Olympus') }}"),
      /unknown time zone/,
    );
    assert.throws(() => render("{{ macros.datetime(2024, 1, 1).plus(3) }}"), /expected a timedelta/);
  });
});

test("a TypeScript task is sent the plain values: var, conn and macros are built in its process", () => {
  const lookups: Lookups = { variables: new Map([["token", "s3cret"]]), connections: new Map() };
  const sent = contextForTask(buildContext(dag, task, run({}), ti, lookups));
  assert.equal(sent.ds, "2024-01-15");
  assert.deepEqual(sent.dag_run, {
    run_id: "scheduled__2024-01-15T00:00:00+00:00",
    run_type: "scheduled",
    conf: { x: 1 },
    logical_date: "2024-01-15T00:00:00+00:00",
  });
  for (const key of ["var", "conn", "macros"]) assert.ok(!(key in sent), key);
  assert.doesNotMatch(JSON.stringify(sent), /s3cret/);
});

describe("rendering cost", () => {
  test("a string without template syntax is itself; a cached template renders each context afresh", () => {
    assert.equal(render("echo plain; exit 0"), "echo plain; exit 0");
    assert.equal(render("{{ ds }}"), "2024-01-15");
    assert.equal(render("{{ ds }}", run({ logical_date: "2024-02-01T00:00:00.000Z" })), "2024-02-01");
    assert.equal(render("{# note #}x"), "x");
    assert.throws(() => render("{{ nope }}"), /could not be rendered/);
    assert.throws(() => render("{% if %}"), /could not be rendered/);
    assert.throws(
      () => render("{% if %}"),
      /could not be rendered/,
      "a template that does not compile keeps failing",
    );
  });
});

describe("ti.xcom_pull in templates (Airflow's TaskInstance.xcom_pull)", () => {
  const xcoms: Lookups["xcoms"] = [
    { task_id: "load", map_index: -1, key: "return_value", value: "s3://b/2024-01-15.csv" },
    { task_id: "load", map_index: -1, key: "rows", value: 42 },
    { task_id: "split", map_index: 1, key: "return_value", value: "b" },
    { task_id: "split", map_index: 0, key: "return_value", value: "a" },
    { task_id: "extract", map_index: -1, key: "mine", value: "own" },
  ];
  const pull = (template: string) => render(template, run({}), { ...none, xcoms });
  test("task ids by keyword or position, keys, lists of ids, mapped tasks, defaults", () => {
    assert.equal(pull("{{ ti.xcom_pull(task_ids='load') }}"), "s3://b/2024-01-15.csv");
    assert.equal(pull("{{ task_instance.xcom_pull('load') }}"), "s3://b/2024-01-15.csv");
    assert.equal(pull("{{ ti.xcom_pull(task_ids='load', key='rows') + 1 }}"), "43");
    assert.equal(pull("{{ ti.xcom_pull('load', 'rows') }}"), "42");
    assert.equal(
      pull("{{ ti.xcom_pull(task_ids=['load', 'nothing']) | join(',') }}"),
      "s3://b/2024-01-15.csv,",
    );
    assert.equal(pull("{{ ti.xcom_pull(task_ids='split') | join(',') }}"), "a,b", "by map index");
    assert.equal(pull("{{ ti.xcom_pull(task_ids='split', map_indexes=1) }}"), "b");
    assert.equal(pull("{{ ti.xcom_pull(task_ids='nothing') }}"), "None");
    assert.equal(pull("{{ ti.xcom_pull(task_ids='nothing', default='none yet') }}"), "none yet");
    assert.equal(pull("{{ ti.xcom_pull(key='mine') }}"), "own", "no task ids: the task itself");
  });
  test("a TypeScript task's copy of the context has no xcom_pull (it calls its own)", () => {
    const sent = contextForTask(buildContext(dag, task, run({}), ti, { ...none, xcoms }));
    assert.equal((sent.ti as Record<string, unknown>).task_id, "extract");
    assert.ok(!("xcom_pull" in (sent.ti as object)));
  });
});
