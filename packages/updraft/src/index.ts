// DAG files run on Node: a DAGs project that depends on this package gets Node's types with it.
/// <reference types="node" preserve="true" />
/**
 * Updraft's public entry point: `import { dag, task, bash, empty, chain } from "updraft"`.
 */
export * from "./sdk/index.ts";
export { DagDefinitionError, UpdraftError } from "./core/errors.ts";
export type { ErrorCode } from "./core/errors.ts";
export { TRIGGER_RULES, WEIGHT_RULES } from "./core/trigger-rules.ts";
export type { TriggerRule, WeightRule } from "./core/trigger-rules.ts";
export { SERIALIZED_DAG_VERSION, SerializedDagSchema } from "./core/serialized.ts";
export type { ParamSpec, SerializedDag, SerializedTask, XComRef } from "./core/serialized.ts";
export type { Schedule } from "./core/schedule.ts";
export type { DurationInput } from "./core/duration.ts";
