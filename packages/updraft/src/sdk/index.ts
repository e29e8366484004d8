/**
 * The authoring SDK: what DAG files import from "updraft". Pure: no I/O, no configuration, no
 * drivers; it builds and checks DAGs and produces their serialized form.
 */
export { dag, isDag, BUILTIN_DEFAULTS, DAG_BRAND } from "./dag.ts";
export type {
  Dag,
  DagOptions,
  DagTestOptions,
  DagTestResult,
  SerializeDefaults,
  SerializeOptions,
  TaskDefinition,
} from "./dag.ts";
export { task, branch, shortCircuit, bash, empty, latestOnly } from "./tasks.ts";
export type {
  ArgInput,
  BashMappedFields,
  BashOptions,
  BashPartialOptions,
  Keywords,
  MapInput,
  MapKeywords,
  PartialTask,
  ShortCircuitOptions,
  TaskArgs,
  TaskFactory,
  TaskFlowOptions,
  TaskBashOptions,
} from "./tasks.ts";
export { chain, crossDownstream } from "./handles.ts";
export {
  email,
  externalTaskMarker,
  http,
  sql,
  triggerDagRun,
  TRIGGER_LOGICAL_DATE_XCOM,
  TRIGGER_RUN_ID_XCOM,
} from "./operators.ts";
export type {
  EmailOptions,
  ExternalTaskMarkerOptions,
  HttpMappedFields,
  HttpMappedLists,
  HttpNextPage,
  HttpOptions,
  SqlMappedFields,
  SqlMappedLists,
  SqlOptions,
  SqlPartialOptions,
  TriggerDagRunOptions,
} from "./operators.ts";
export { httpHook, sqlHook } from "./hooks.ts";
export type {
  HttpHook,
  HttpRequestOptions,
  HttpResponse,
  SqlHook,
  SqlParameters,
  SqlRunOptions,
  SqlStatementInfo,
} from "./hooks.ts";
export { sendEmail, sendTaskAlertEmail } from "./email.ts";
export type { EmailMessage, SendEmailOptions } from "./email.ts";
export { slackWebhookNotifier, smtpNotifier, webhookNotifier } from "./notifiers.ts";
export type {
  SlackWebhookNotifierOptions,
  SmtpNotifierOptions,
  WebhookNotifierOptions,
} from "./notifiers.ts";
export { sensor, addSensor, SENSOR_OPTION_KEYS } from "./sensors.ts";
export type { PokeAnswer, PokeReturn, SensorDefinition, SensorOptions } from "./sensors.ts";
export {
  dateTimeSensor,
  externalTaskSensor,
  fileSensor,
  httpSensor,
  sqlSensor,
  timeDeltaSensor,
  timeSensor,
} from "./ready-sensors.ts";
export type {
  DateTimeSensorOptions,
  ExternalTaskSensorOptions,
  FileSensorOptions,
  HttpSensorOptions,
  HttpSensorResponse,
  SqlSensorOptions,
  TimeDeltaSensorOptions,
  TimeSensorOptions,
} from "./ready-sensors.ts";
export {
  dagRunTrigger,
  dateTimeTrigger,
  defer,
  deferralOf,
  externalTaskTrigger,
  fileTrigger,
  httpTrigger,
  sqlTrigger,
  TaskDeferred,
  timeDeltaTrigger,
  TRIGGERS,
} from "./triggers.ts";
export type { DeferOptions, Trigger, TriggerRun, TriggerSpec } from "./triggers.ts";
export type { Dependable, HandleOrList, TaskGroupHandle, TaskHandle, XComArg } from "./handles.ts";
export { taskGroup } from "./groups.ts";
export {
  allOf,
  anyOf,
  asset,
  assetAlias,
  isAsset,
  isAssetAlias,
  outletEvents,
  OutletEvents,
} from "./assets.ts";
export type {
  Asset,
  AssetAlias,
  AssetAll,
  AssetAny,
  AssetExpression,
  AssetOptions,
  OutletEventAccessor,
  OutletEventsWire,
} from "./assets.ts";
export type { TaskGroupFactory, TaskGroupOptions, TaskGroupOverrideOptions } from "./groups.ts";
export { findXComRefs, isXComRef, resolveXComRefs } from "./json.ts";
export { FailTask, SkipTask, getCurrentContext, setCurrentContext, taskControlOf } from "./control.ts";
export { getConnection, getVariable, setLookup, setVariable } from "./lookups.ts";
export type { Connection, GetVariableOptions, SetVariableOptions } from "./lookups.ts";
export { taskContext } from "./context.ts";
export type { ConnectionAccessor, TaskContext, VariableAccessor } from "./context.ts";
export type { Macros, MacroDateTime, MacroTimeDelta } from "../core/macros.ts";
export type { JsonValue } from "./json.ts";
export type { TaskOptions, TriggerRuleInput } from "./options.ts";
export type {
  Callback,
  CallbackContext,
  CallbackFunction,
  CallbackInput,
  Notifier,
} from "./callback-types.ts";
export { isNotifier } from "./callback-types.ts";
export type { ParamInput, ParamSpecInput, ParamType } from "./params.ts";
export type { DateInput } from "./dates.ts";
export {
  continuousTimetable,
  cronDataIntervalTimetable,
  cronTriggerTimetable,
  deltaDataIntervalTimetable,
  deltaTriggerTimetable,
  isTimetable,
  multipleCronTriggerTimetable,
  TIMETABLE_BRAND,
} from "./timetables.ts";
export type {
  CronDataIntervalOptions,
  CronTriggerOptions,
  DeltaDataIntervalOptions,
  DeltaTriggerOptions,
  EveryInput,
  ScheduleInput,
  Timetable,
  TimetableName,
} from "./timetables.ts";
export type { TaskKind } from "./builder.ts";
export type { DeadlineAlert, DeadlineReference } from "./deadlines.ts";
