/**
 * Every configuration option, its type, default and meaning: the single source for updraft.toml,
 * `config list`, environment overrides and docs/configuration.md. `{UPDRAFT_HOME}` in a default is
 * replaced by the home folder.
 */
export type OptionType = "string" | "integer" | "float" | "boolean";

export interface OptionSpec {
  type: OptionType;
  default: string | number | boolean;
  description: string;
  /** Never printed in full by `config list` (passwords, keys). */
  sensitive?: boolean;
}

export const OPTIONS = {
  core: {
    dags_folder: {
      type: "string",
      default: "{UPDRAFT_HOME}/dags",
      description: "Folder holding your DAG files (.ts, .mts, .js, .mjs), searched recursively.",
    },
    load_examples: {
      type: "boolean",
      default: true,
      description: "Load the example DAGs that ship with Updraft.",
    },
    default_timezone: {
      type: "string",
      default: "UTC",
      description: "IANA time zone for DAGs that set none, and for dates written without an offset.",
    },
    parallelism: {
      type: "integer",
      default: 32,
      description: "Task instances that may run at once on this installation.",
    },
    max_active_tasks_per_dag: {
      type: "integer",
      default: 16,
      description: "Default maxActiveTasks of a DAG.",
    },
    max_active_runs_per_dag: { type: "integer", default: 16, description: "Default maxActiveRuns of a DAG." },
    max_consecutive_failed_dag_runs_per_dag: {
      type: "integer",
      default: 0,
      description:
        "Default maxConsecutiveFailedDagRuns of a DAG: it is paused once this many of its latest runs in a row failed; 0 = never.",
    },
    dags_are_paused_at_creation: {
      type: "boolean",
      default: true,
      description: "New DAGs start paused unless they set isPausedUponCreation.",
    },
    catchup_by_default: { type: "boolean", default: false, description: "Default catchup of a DAG." },
    default_owner: { type: "string", default: "updraft", description: "Owner of tasks that name none." },
    default_task_retries: { type: "integer", default: 0, description: "Retries of tasks that set none." },
    default_impersonation: {
      type: "string",
      default: "",
      description:
        "Operating-system user tasks run as when they set no runAsUser (Airflow's default_impersonation); empty = the service's own user. Needs root or a sudoers rule: see docs/security.md.",
    },
    default_task_retry_delay: {
      type: "integer",
      default: 300,
      description: "Seconds between tries of tasks that set no retryDelay.",
    },
    default_pool_task_slot_count: {
      type: "integer",
      default: 128,
      description: "Slots of default_pool when the database is created.",
    },
    dagbag_import_timeout: {
      type: "float",
      default: 30,
      description: "Seconds a DAG file may take to load before it becomes an import error.",
    },
    dag_discovery_safe_mode: {
      type: "boolean",
      default: true,
      description:
        "Only load files whose text mentions both 'updraft' and 'dag' (skips helper modules quickly).",
    },
    max_map_length: {
      type: "integer",
      default: 1024,
      description:
        "The most task instances one mapped task may expand to (Airflow's max_map_length); a mapped task past it fails, and so does a task pushing a longer list for one.",
    },
    xcom_max_size: { type: "integer", default: 1048576, description: "Largest XCom value in bytes (JSON)." },
    callback_timeout: {
      type: "integer",
      default: 60,
      description:
        "Seconds each callback (a task's onSuccess, onFailure, onRetry, onExecute, onSkipped, an email alert; a DAG's onSuccess, onFailure; a deadline's) may run; one still running then fails (logged, the task's state unchanged), and a worker stuck in one is replaced.",
    },
    executor: {
      type: "string",
      default: "local",
      description:
        "What runs task instances: local (child processes of the scheduler, on its machine) or bullmq (`updraft worker` processes on any machine, through Redis; see docs/deployment.md).",
    },
    execution_api_server_url: {
      type: "string",
      default: "http://127.0.0.1:8080/execution/",
      description:
        "Where workers reach the Task Execution API: a webserver's URL with its /execution/ prefix (Airflow 3's key). The only address a worker needs besides [bullmq] redis_url.",
    },
    test_connection: {
      type: "string",
      default: "Disabled",
      description:
        "Whether POST /api/v2/connections/test may open connections from the webserver: Enabled, Disabled (403) or Hidden (403, and the UI hides the button). Off by default: a test connects from the webserver's network to a host the caller names.",
    },
  },
  database: {
    url: {
      type: "string",
      default: "sqlite:///{UPDRAFT_HOME}/updraft.db",
      description: "sqlite:///path, postgresql://user:pass@host:5432/db or mysql://user:pass@host:3306/db.",
      sensitive: true,
    },
    pool_size: { type: "integer", default: 5, description: "Connections per process (PostgreSQL, MySQL)." },
    retention_days: {
      type: "integer",
      default: 0,
      description:
        "Running schedulers delete finished runs (with their task instances, tries and XComs), audit log entries and finished jobs older than this many days, hourly and without archiving, keeping each DAG's latest runs, as `updraft db clean --skip-archive` would (0 = keep everything).",
    },
  },
  dag_processor: {
    parsing_processes: {
      type: "integer",
      default: 2,
      description: "Child processes that load DAG files in parallel.",
    },
    files_per_process: {
      type: "integer",
      default: 100,
      description: "Files a parsing process loads before it is replaced (bounds its memory).",
    },
    max_memory_mb: {
      type: "integer",
      default: 512,
      description: "Heap limit of a parsing process; a file that exhausts it becomes an import error.",
    },
    refresh_interval: {
      type: "integer",
      default: 30,
      description: "Seconds between scans of the DAGs folder by a running service.",
    },
    type_check: {
      type: "boolean",
      default: false,
      description:
        "Type-check changed DAG files with TypeScript (in a child process, as `updraft dags check` does) before loading them; a file with type errors becomes an import error listing them (file:line:col: message) and is not loaded.",
    },
    type_check_timeout: {
      type: "float",
      default: 120,
      description:
        "Seconds the type check of one pass's changed files may take; past it the check is stopped and those files become import errors, checked again on the next pass.",
    },
  },
  scheduler: {
    loop_interval: {
      type: "float",
      default: 1,
      description:
        "Seconds between scheduler iterations when nothing wakes it (a finished task wakes it at once).",
    },
    allowed_run_id_pattern: {
      type: "string",
      default: "^[A-Za-z0-9_.~:+-]+$",
      description:
        "Run ids a user may give (trigger, API) must match this regular expression (Airflow's default): no '/', '..', spaces or markup.",
    },
    task_heartbeat_timeout: {
      type: "integer",
      default: 30,
      description:
        "Seconds without a heartbeat after which a scheduler counts as dead and a running task as a zombie.",
    },
    task_queued_timeout: {
      type: "integer",
      default: 600,
      description:
        "Seconds a task instance handed to workers may wait in its queue before it is taken back and scheduled again (bullmq executor; Airflow's key).",
    },
    graceful_shutdown_timeout: {
      type: "integer",
      default: 600,
      description: "Seconds a stopping scheduler lets running tasks finish before it stops them.",
    },
    taskflow_workers: {
      type: "integer",
      default: 8,
      description:
        "Most worker processes running TypeScript tasks at once. A worker runs the tasks of one DAG only (it is reused by that DAG's later tasks); when all are taken, an idle worker of another DAG makes room.",
    },
    taskflow_spare_workers: {
      type: "integer",
      default: 1,
      description:
        "Started TypeScript workers kept bound to no DAG yet, besides taskflow_workers: the first task of a DAG that has no worker takes one and starts in milliseconds instead of a few hundred, and another starts in the background. Each waits holding about 90 MB resident (about 50 MB of its own, the rest shared with other Node processes); an unused one exits after a minute. 0: none.",
    },
    default_task_memory_limit: {
      type: "integer",
      default: 512,
      description: "Memory limit in MiB of TypeScript tasks that set no memoryLimit.",
    },
    create_cron_data_intervals: {
      type: "boolean",
      default: true,
      description:
        "What a cron string or preset schedule means (Airflow 3's key; Updraft keeps data intervals as its default, Airflow 3's is false). true: a run per interval between two ticks, created when it ends, whose logical date is its start (CronDataIntervalTimetable). false: a run at each tick, whose logical date is the tick (CronTriggerTimetable). A DAG's scheduleSemantics and timetable objects choose for themselves. Read when DAG files are parsed: run `updraft dags reserialize` after changing it.",
    },
    create_delta_data_intervals: {
      type: "boolean",
      default: true,
      description:
        "The same for `{ every }` schedules: true (default) gives DeltaDataIntervalTimetable (a run per step-long interval, created when it ends), false DeltaTriggerTimetable (a run every step, logical date = its time). Read when DAG files are parsed.",
    },
  },
  triggerer: {
    capacity: {
      type: "integer",
      default: 1000,
      description: "Triggers one triggerer runs at once (Airflow's default); more triggerers share the rest.",
    },
    lease_seconds: {
      type: "integer",
      default: 10,
      description:
        "Seconds a triggerer's claim on its triggers lasts unless renewed (every third of it): the triggers of a triggerer that died go to another within this.",
    },
  },
  bullmq: {
    redis_url: {
      type: "string",
      default: "redis://127.0.0.1:6379",
      description:
        "Redis that carries task tries to workers (executor = bullmq): redis://[user:password@]host:port[/db], or rediss:// for TLS. Redis must keep its data (appendonly yes): see docs/deployment.md.",
      sensitive: true,
    },
    key_prefix: {
      type: "string",
      default: "updraft",
      description: "Prefix of every Redis key Updraft writes (several installations can share one Redis).",
    },
    tls_ca_file: {
      type: "string",
      default: "",
      description:
        "With rediss://: a PEM file of the certificate authority that signed Redis's certificate (empty = the system's).",
    },
    worker_timeout: {
      type: "integer",
      default: 10,
      description:
        "Seconds after which a worker that stopped heartbeating (killed, its machine gone) counts as dead: its tries fail and are retried by their retries elsewhere.",
    },
  },
  execution_api: {
    jwt_expiration_time: {
      type: "integer",
      default: 600,
      description:
        "Seconds a try's Task Execution API token stays valid; a running try's heartbeats renew it (Airflow 3's key).",
    },
  },
  security: {
    encryption_key: {
      type: "string",
      default: "",
      description:
        "AES-256-GCM key for connection passwords, extras and secret variables (generated on first run; keep it safe).",
      sensitive: true,
    },
  },
  metrics: {
    scheduler_port: {
      type: "integer",
      default: 9464,
      description:
        "Port where a scheduler serves Prometheus metrics at /metrics (0 = off). Webservers serve /metrics on their own port.",
    },
    host: {
      type: "string",
      default: "127.0.0.1",
      description:
        "Address the scheduler's metrics port listens on (0.0.0.0 for every interface: then set bearer_token or firewall it).",
    },
    bearer_token: {
      type: "string",
      default: "",
      description:
        "When set, /metrics (the scheduler's and the webserver's) answers only requests with `Authorization: Bearer <token>`.",
      sensitive: true,
    },
  },
  email: {
    email_conn_id: {
      type: "string",
      default: "smtp_default",
      description:
        "The `smtp` connection alert emails (emailOnFailure, emailOnRetry), smtpNotifier and the email operator send through by default; when it does not exist, the [smtp] section is used.",
    },
    from_email: {
      type: "string",
      default: "",
      description:
        "Sender of emails that name none, before the connection's `from_email` extra and [smtp] smtp_mail_from (Airflow's key).",
    },
    subject_template: {
      type: "string",
      default: "",
      description:
        "A file holding the subject of alert emails as a template (Jinja syntax; sees ti, run_id, dag, exception, try_number, max_tries...); empty = Updraft's default subject.",
    },
    html_content_template: {
      type: "string",
      default: "",
      description:
        "A file holding the HTML body of alert emails as a template (the same names as subject_template); empty = Updraft's default body.",
    },
  },
  smtp: {
    smtp_host: {
      type: "string",
      default: "localhost",
      description: "SMTP server emails go to when the [email] email_conn_id connection does not exist.",
    },
    smtp_port: { type: "integer", default: 25, description: "Port of smtp_host." },
    smtp_starttls: {
      type: "boolean",
      default: true,
      description: "Upgrade the connection with STARTTLS (the server must offer it) before sending.",
    },
    smtp_ssl: {
      type: "boolean",
      default: false,
      description: "Connect over TLS from the start (SMTPS, usually port 465) instead of plain SMTP.",
    },
    smtp_mail_from: {
      type: "string",
      default: "updraft@example.com",
      description: "Sender of emails sent through this section that name none.",
    },
    smtp_timeout: {
      type: "integer",
      default: 30,
      description: "Seconds to wait for the SMTP server to connect and answer.",
    },
    smtp_retry_limit: {
      type: "integer",
      default: 5,
      description: "Attempts to connect to the SMTP server before an email fails.",
    },
  },
  api: {
    host: {
      type: "string",
      default: "127.0.0.1",
      description:
        "Address the webserver listens on: this machine only by default; 0.0.0.0 for every interface (behind TLS or a proxy).",
    },
    trusted_proxies: {
      type: "string",
      default: "127.0.0.1",
      description:
        "Comma-separated addresses or CIDRs of proxies whose X-Forwarded-For / X-Forwarded-Proto are believed (the audit log's address); empty = none.",
    },
    port: { type: "integer", default: 8080, description: "Port the webserver listens on." },
    secret_key: {
      type: "string",
      default: "",
      description:
        "Secret that signs API tokens and session cookies (generated on first run; every webserver of an installation needs the same). Empty: derived from [security] encryption_key.",
      sensitive: true,
    },
    token_expiration: {
      type: "integer",
      default: 86400,
      description: "Seconds an API token (POST /auth/token) and a UI session stay valid.",
    },
    cors_origins: {
      type: "string",
      default: "",
      description: "Comma-separated origins allowed to call the API from a browser (CORS); empty = CORS off.",
    },
    login_failures_per_minute: {
      type: "integer",
      default: 20,
      description:
        "Failed logins a client address may make in a minute, across all user names, before it gets 429 for the rest of the minute.",
    },
    password_min_length: {
      type: "integer",
      default: 8,
      description: "Shortest password `users create`, `users reset-password` and the users API accept.",
    },
    base_url: {
      type: "string",
      default: "",
      description:
        "The address users reach the UI at (e.g. https://updraft.example.com), for links in alert emails; empty = no links.",
    },
    expose_config: {
      type: "boolean",
      default: false,
      description:
        "Let Admin and Op users read the configuration through GET /api/v2/config (sensitive values stay hidden).",
    },
  },
  logging: {
    base_log_folder: {
      type: "string",
      default: "{UPDRAFT_HOME}/logs",
      description: "Folder for task and service logs.",
    },
    level: {
      type: "string",
      default: "info",
      description: "Service log level: trace, debug, info, warn, error.",
    },
    max_bytes_per_try: {
      type: "integer",
      default: 52428800,
      description:
        "Largest log of one task try, in bytes; past it the log is cut with a marker line and the task keeps running. At most a quarter of max_total_bytes (a larger value is lowered, with a warning).",
    },
    compress_finished: {
      type: "boolean",
      default: true,
      description:
        "Gzip a try's log when the try ends (one of a disk block or less stays as it is: gzip would save it no disk).",
    },
    retention_days: {
      type: "integer",
      default: 30,
      description:
        "Task logs last written longer ago than this are deleted (by `logs clean` and by running schedulers); logs of running tries are kept.",
    },
    max_total_bytes: {
      type: "integer",
      default: 10737418240,
      description:
        "Cap on the logs folder's disk use (allocated blocks, folders included, as `du` counts): a running scheduler deletes the oldest finished task logs past 90% of it, and task output that would pass it is discarded (0 = no cap; else at least 1 MiB).",
    },
    clean_interval_hours: {
      type: "float",
      default: 1,
      description:
        "How often a running scheduler re-counts the logs folder and deletes logs past retention_days (it also cleans at start, and whenever the cap is neared).",
    },
    service_log_max_bytes: {
      type: "integer",
      default: 104857600,
      description:
        "A service's own log (`--daemon`'s `--log-file`) is rotated past this size: renamed to <file>.1, older ones shifted (0 = never rotated).",
    },
    service_log_backups: {
      type: "integer",
      default: 5,
      description: "How many rotated service logs (<file>.1 ... <file>.N) are kept; older ones are deleted.",
    },
  },
} as const satisfies Record<string, Record<string, OptionSpec>>;

export type Section = keyof typeof OPTIONS;
export type OptionKey<S extends Section> = keyof (typeof OPTIONS)[S] & string;

/** The TypeScript type a value of each option has once loaded. */
type ValueOf<T> = T extends { type: "boolean" } ? boolean : T extends { type: "string" } ? string : number;
export type ConfigValues = {
  [S in Section]: { [K in keyof (typeof OPTIONS)[S]]: ValueOf<(typeof OPTIONS)[S][K]> };
};

export function allOptions(): { section: string; key: string; spec: OptionSpec }[] {
  return Object.entries(OPTIONS).flatMap(([section, keys]) =>
    Object.entries(keys).map(([key, spec]) => ({ section, key, spec: spec as OptionSpec })),
  );
}
