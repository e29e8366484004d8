/**
 * The metadata database's tables as Kysely sees them. Conventions (ADR.md): times are ISO-8601 UTC
 * text (`Timestamp`), flags are 0/1 integers (`Flag`), JSON is text. Migrations create exactly this.
 */
import type { Generated, Insertable, Selectable, Updateable } from "kysely";

/** `new Date().toISOString()`: sorts and compares as text the same in every database. */
export type Timestamp = string;
export type Flag = number;

export interface DagTable {
  dag_id: string;
  fileloc: string;
  is_paused: Flag;
  is_active: Flag;
  description: string | null;
  owners: string;
  schedule_description: string;
  timezone: string;
  max_active_runs: number;
  max_consecutive_failed_dag_runs: number;
  max_active_tasks: number;
  last_parsed_time: Timestamp | null;
  dag_hash: string | null;
  has_import_errors: Flag;
  next_dagrun: Timestamp | null;
  next_dagrun_data_interval_start: Timestamp | null;
  next_dagrun_data_interval_end: Timestamp | null;
  next_dagrun_create_after: Timestamp | null;
}

export interface DagTagTable {
  dag_id: string;
  name: string;
}

export interface SerializedDagTable {
  dag_id: string;
  fileloc: string;
  data: string;
  dag_hash: string;
  version: number;
  last_updated: Timestamp;
}

/**
 * One row per change of a DAG's serialized form (migration 0012, Airflow 3's dag_version): numbered
 * 1, 2, 3... per DAG, with the serialized form and the file's source at that version. Runs point at
 * the version they were created with (`dag_run.created_dag_version_id`). ADR.md S16.
 */
export interface DagVersionTable {
  /** A UUID, as Airflow's (the API shows it). */
  id: string;
  dag_id: string;
  version_number: number;
  /** The serialized form's hash (`dagHash`); equal to serialized_dag.dag_hash for the newest. */
  dag_hash: string;
  fileloc: string;
  data: string;
  /** The file's text; null for a version 1 made by the migration until the file is parsed again. */
  source_code: string | null;
  source_hash: string | null;
  created_at: Timestamp;
}

/** One row per DAG file seen: its content hash decides whether it is parsed again. */
export interface DagFileTable {
  fileloc: string;
  content_hash: string;
  last_parsed: Timestamp;
  parse_duration_ms: number;
  dag_count: number;
  is_active: Flag;
}

export interface ImportErrorTable {
  id: Generated<number>;
  fileloc: string;
  message: string;
  stacktrace: string | null;
  timestamp: Timestamp;
}

export interface DagRunTable {
  id: Generated<number>;
  dag_id: string;
  run_id: string;
  logical_date: Timestamp | null;
  data_interval_start: Timestamp | null;
  data_interval_end: Timestamp | null;
  run_after: Timestamp;
  queued_at: Timestamp | null;
  start_date: Timestamp | null;
  end_date: Timestamp | null;
  state: string;
  run_type: string;
  triggered_by: string | null;
  conf: string | null;
  dag_hash: string | null;
  note: string | null;
  last_scheduling_decision: Timestamp | null;
  updated_at: Timestamp;
  /** Seconds from start to end, written with the end (migration 0008): lists sort and filter by it. */
  duration: number | null;
  /**
   * Marked success or failed by hand while teardowns still had to run (migration 0011): the run
   * ends in this state once they are done. Null otherwise; a run queued again decides afresh.
   */
  marked_state: Generated<string | null>;
  /** The DAG version the run was created with (migration 0012); null for a DAG never stored. */
  created_dag_version_id: Generated<string | null>;
  /** The backfill the run belongs to (migration 0016), if any. */
  backfill_id: Generated<number | null>;
}

/** A backfill (migration 0016, ./backfills.ts); timestamps ISO strings, conf JSON text. */
export interface BackfillTable {
  id: Generated<number>;
  dag_id: string;
  from_date: Timestamp;
  to_date: Timestamp;
  dag_run_conf: string;
  is_paused: number;
  reprocess_behavior: string;
  max_active_runs: number;
  run_backwards: number;
  triggering_user_name: string | null;
  created_at: Timestamp;
  completed_at: Timestamp | null;
  updated_at: Timestamp;
}

export interface TaskInstanceTable {
  dag_id: string;
  run_id: string;
  task_id: string;
  map_index: number;
  dag_run_id: number;
  state: string | null;
  try_number: number;
  max_tries: number;
  operator: string;
  pool: string;
  pool_slots: number;
  queue: string;
  priority_weight: number;
  start_date: Timestamp | null;
  end_date: Timestamp | null;
  duration: number | null;
  queued_dttm: Timestamp | null;
  scheduled_dttm: Timestamp | null;
  next_retry_at: Timestamp | null;
  hostname: string | null;
  pid: number | null;
  executor: string | null;
  claimed_by_job_id: number | null;
  last_heartbeat_at: Timestamp | null;
  rendered_fields: string | null;
  /** A mapped instance's label (its task's mapIndexTemplate, rendered; migration 0010). */
  rendered_map_index: string | null;
  note: string | null;
  updated_at: Timestamp;
  /** The DAG version the instance was created with: its run's (migration 0012). */
  dag_version_id: Generated<string | null>;
  /**
   * How the next start of this try goes on (migration 0013): "__poke__" after a reschedule, "resume"
   * with a trigger's event, "__fail__" after a trigger timeout; null for a fresh try. A start with a
   * next_method keeps the try number.
   */
  next_method: Generated<string | null>;
  /** JSON: `{ event }` (the trigger's payload) or `{ error }`, for the start that resumes. */
  next_kwargs: Generated<string | null>;
  /** The trigger a deferred task instance waits on. */
  trigger_id: Generated<number | null>;
  /** When a deferred task instance's wait fails (its defer() timeout). */
  trigger_timeout: Generated<Timestamp | null>;
}

/** A trigger a triggerer runs for deferred task instances (migration 0013). */
export interface TriggerTable {
  id: Generated<number>;
  /** A built-in trigger ("updraft.triggers.DateTimeTrigger") or "<module>#<export>" for a custom one. */
  classpath: string;
  /** JSON: the trigger's arguments. */
  kwargs: string;
  created_date: Timestamp;
  /** The triggerer (job id) running it; its claim holds until lease_until unless renewed. */
  triggerer_id: number | null;
  lease_until: Timestamp | null;
}

/** One reschedule-mode poke that did not succeed: when it ran and when the next one is due. */
/**
 * A callback to run outside the scheduler (migration 0015): a DAG run's success or failure, a missed
 * deadline. Written with the state change that causes it; run by a triggerer holding its lease.
 */
export interface CallbackRequestTable {
  id: Generated<number>;
  dag_run_id: number;
  dag_id: string;
  run_id: string;
  /** "dag_success", "dag_failure", "deadline_missed". */
  event: string;
  /** What makes the event one with its run: the end's time for a run's end, the deadline's index. */
  event_key: string;
  task_id: string | null;
  map_index: number | null;
  try_number: number | null;
  /** The serialized DAG the run had when the event happened. */
  dag_hash: string | null;
  /** JSON: `{ reason, exception, deadline }`. */
  payload: string;
  /** "queued", "running", "success", "failed". */
  state: string;
  /** The triggerer (job id) running it; its claim holds until lease_until unless renewed. */
  claimed_by: number | null;
  lease_until: Timestamp | null;
  attempts: number;
  error: string | null;
  created_at: Timestamp;
  finished_at: Timestamp | null;
}

/** A run's deadline (Airflow's DeadlineAlert): missed once the time passed with the run unfinished. */
export interface DeadlineTable {
  id: Generated<number>;
  dag_run_id: number;
  dag_id: string;
  run_id: string;
  /** Its position in the DAG's `deadline` list. */
  deadline_index: number;
  deadline_time: Timestamp;
  /** 1: the run was unfinished when the time came (its callback requested then); 0: not (yet). */
  missed: Flag;
  /** When the scheduler looked at it after its time: null while pending. */
  handled_at: Timestamp | null;
  created_at: Timestamp;
}

export interface TaskRescheduleTable {
  id: Generated<number>;
  dag_id: string;
  run_id: string;
  task_id: string;
  map_index: number;
  try_number: number;
  start_date: Timestamp;
  end_date: Timestamp;
  duration: number;
  reschedule_date: Timestamp;
}

/** Every finished try of a task instance (the live try stays in task_instance). */
export interface TaskInstanceHistoryTable {
  dag_id: string;
  run_id: string;
  task_id: string;
  map_index: number;
  try_number: number;
  state: string | null;
  start_date: Timestamp | null;
  end_date: Timestamp | null;
  duration: number | null;
  hostname: string | null;
  pid: number | null;
  operator: string;
  pool: string;
  queue: string;
  priority_weight: number;
  rendered_fields: string | null;
}

export interface XComTable {
  dag_run_id: number;
  task_id: string;
  map_index: number;
  key: string;
  dag_id: string;
  run_id: string;
  value: string | null;
  timestamp: Timestamp;
}

export interface VariableTable {
  id: Generated<number>;
  key: string;
  val: string | null;
  description: string | null;
  is_encrypted: Flag;
}

export interface ConnectionTable {
  id: Generated<number>;
  conn_id: string;
  conn_type: string;
  description: string | null;
  host: string | null;
  schema: string | null;
  login: string | null;
  password: string | null;
  port: number | null;
  extra: string | null;
  is_encrypted: Flag;
  is_extra_encrypted: Flag;
}

export interface SlotPoolTable {
  id: Generated<number>;
  pool: string;
  slots: number;
  description: string | null;
  include_deferred: Flag;
}

/** A running service (scheduler, DAG processor, webserver, triggerer) and its heartbeat. */
export interface JobTable {
  id: Generated<number>;
  job_type: string;
  state: string;
  hostname: string;
  pid: number;
  start_date: Timestamp;
  end_date: Timestamp | null;
  latest_heartbeat: Timestamp;
  last_error: string | null;
}

export interface UserTable {
  id: Generated<number>;
  username: string;
  email: string | null;
  first_name: string | null;
  last_name: string | null;
  password_hash: string | null;
  role: string;
  active: Flag;
  created_at: Timestamp;
  last_login: Timestamp | null;
  failed_logins: Generated<number>;
  locked_until: Timestamp | null;
  /** Raised by logout, a new password, a role change or a deactivation: older tokens stop working. */
  token_version: Generated<number>;
}

/** Failed logins per name (existing or not): the lock and its delay (migration 0007). */
export interface LoginAttemptTable {
  name: string;
  failures: Generated<number>;
  locked_until: Timestamp | null;
}

/** The audit log: who did what to which DAG, run or task. */
export interface AuditLogTable {
  id: Generated<number>;
  dttm: Timestamp;
  event: string;
  owner: string | null;
  dag_id: string | null;
  task_id: string | null;
  run_id: string | null;
  map_index: number | null;
  try_number: number | null;
  extra: string | null;
}

/** A named lock with an expiry: whoever holds it renews it; anyone may take it once it lapses. */
export interface LeaseTable {
  name: string;
  holder: string;
  expires_at: Timestamp;
}

/** Assets (migration 0014, ./assets.ts); timestamps ISO strings, extra JSON text. */
export interface AssetTable {
  id: Generated<number>;
  uri: string;
  name: string;
  asset_group: string;
  extra: string;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface AssetAliasTable {
  id: Generated<number>;
  name: string;
  asset_group: string;
}

export interface AssetAliasAssetTable {
  alias_id: number;
  asset_id: number;
}

export interface AssetEventTable {
  id: Generated<number>;
  asset_id: number;
  extra: string;
  source_dag_id: string | null;
  source_task_id: string | null;
  source_run_id: string | null;
  source_map_index: number | null;
  /** The alias the event was recorded through (outletEvents(alias).add), if any. */
  source_alias_name: string | null;
  timestamp: Timestamp;
}

export interface DagScheduleAssetReferenceTable {
  asset_id: number;
  dag_id: string;
  created_at: Timestamp;
}

export interface DagScheduleAssetAliasReferenceTable {
  alias_id: number;
  dag_id: string;
  created_at: Timestamp;
}

export interface TaskOutletAssetReferenceTable {
  asset_id: number;
  dag_id: string;
  task_id: string;
  created_at: Timestamp;
}

export interface AssetDagRunQueueTable {
  asset_id: number;
  target_dag_id: string;
  created_at: Timestamp;
}

export interface DagrunAssetEventTable {
  dag_run_id: number;
  event_id: number;
}

export interface Tables {
  dag: DagTable;
  dag_tag: DagTagTable;
  asset: AssetTable;
  asset_alias: AssetAliasTable;
  asset_alias_asset: AssetAliasAssetTable;
  asset_event: AssetEventTable;
  dag_schedule_asset_reference: DagScheduleAssetReferenceTable;
  dag_schedule_asset_alias_reference: DagScheduleAssetAliasReferenceTable;
  task_outlet_asset_reference: TaskOutletAssetReferenceTable;
  asset_dag_run_queue: AssetDagRunQueueTable;
  dagrun_asset_event: DagrunAssetEventTable;
  serialized_dag: SerializedDagTable;
  dag_version: DagVersionTable;
  dag_file: DagFileTable;
  import_error: ImportErrorTable;
  dag_run: DagRunTable;
  task_instance: TaskInstanceTable;
  task_instance_history: TaskInstanceHistoryTable;
  xcom: XComTable;
  variable: VariableTable;
  connection: ConnectionTable;
  slot_pool: SlotPoolTable;
  job: JobTable;
  users: UserTable;
  login_attempt: LoginAttemptTable;
  audit_log: AuditLogTable;
  lease: LeaseTable;
  trigger: TriggerTable;
  task_reschedule: TaskRescheduleTable;
  callback_request: CallbackRequestTable;
  deadline: DeadlineTable;
  backfill: BackfillTable;
}

export type DagRow = Selectable<DagTable>;
export type DagVersionRow = Selectable<DagVersionTable>;
export type DagRunRow = Selectable<DagRunTable>;
export type NewDagRun = Insertable<DagRunTable>;
export type TaskInstanceRow = Selectable<TaskInstanceTable>;
export type TaskInstanceUpdate = Updateable<TaskInstanceTable>;
export type VariableRow = Selectable<VariableTable>;
export type ConnectionRow = Selectable<ConnectionTable>;
export type SlotPoolRow = Selectable<SlotPoolTable>;
export type ImportErrorRow = Selectable<ImportErrorTable>;
export type UserRow = Selectable<UserTable>;
export type TriggerRow = Selectable<TriggerTable>;
export type TaskRescheduleRow = Selectable<TaskRescheduleTable>;
export type CallbackRequestRow = Selectable<CallbackRequestTable>;
export type DeadlineRow = Selectable<DeadlineTable>;
export type BackfillRow = Selectable<BackfillTable>;

export const TABLE_NAMES: (keyof Tables)[] = [
  "dag",
  "dag_tag",
  "serialized_dag",
  "dag_version",
  "dag_file",
  "import_error",
  "dag_run",
  "task_instance",
  "task_instance_history",
  "xcom",
  "variable",
  "connection",
  "slot_pool",
  "job",
  "users",
  "login_attempt",
  "audit_log",
  "lease",
  "trigger",
  "task_reschedule",
  "callback_request",
  "deadline",
  "asset",
  "asset_alias",
  "asset_alias_asset",
  "asset_event",
  "dag_schedule_asset_reference",
  "dag_schedule_asset_alias_reference",
  "task_outlet_asset_reference",
  "asset_dag_run_queue",
  "dagrun_asset_event",
  "backfill",
];
