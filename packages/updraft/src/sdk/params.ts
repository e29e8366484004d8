/**
 * DAG params (Airflow's Param): each is either a plain JSON value, its default, or a ParamSpec
 * object. An object counts as a ParamSpec when it has a `type` or a `default` key; any other value
 * is a default. So an object-valued default that itself has a `type` or `default` key must be
 * written as a spec: `{ type: "object", default: { type: "x" } }`.
 *
 * A plain default's type is inferred: string, number (never "integer", so 2.5 stays valid later),
 * boolean, array, object; null infers no type (any value allowed).
 */
import { paramValidator } from "../core/params.ts";
import { ParamSpecSchema, type ParamSpec } from "../core/serialized.ts";
import { definitionError, describe, type Where } from "./fail.ts";
import { toJson, type JsonValue } from "./json.ts";

export type ParamType = "string" | "number" | "integer" | "boolean" | "object" | "array" | "null";

/** A param as written in DagOptions.params. */
export interface ParamSpecInput {
  type?: ParamType | ParamType[];
  default?: JsonValue;
  description?: string;
  title?: string;
  enum?: JsonValue[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  format?: string;
}

export type ParamInput = JsonValue | ParamSpecInput;

const SPEC_KEYS = Object.keys(ParamSpecSchema.shape);

export function isParamSpec(value: unknown): value is ParamSpecInput {
  return (
    value !== null &&
    typeof value === "object" &&
    !Array.isArray(value) &&
    ("type" in value || "default" in value)
  );
}

export function normalizeParams(params: unknown, where: Where): Record<string, ParamSpec> {
  if (params === undefined) return {};
  if (params === null || typeof params !== "object" || Array.isArray(params)) {
    throw definitionError(
      where,
      `params must be an object of name: default or name: { type, default, ... }, got ${describe(params)}`,
    );
  }
  const out: Record<string, ParamSpec> = {};
  for (const [name, value] of Object.entries(params)) out[name] = normalizeParam(name, value, where);
  return out;
}

function normalizeParam(name: string, value: unknown, where: Where): ParamSpec {
  const json = (v: unknown, what: string) =>
    toJson(v, undefined, (path, problem) => {
      throw definitionError(where, `param "${name}": ${what}${path} ${problem}: params are JSON values`);
    });
  if (!isParamSpec(value)) {
    const dflt = json(value, "the default");
    const type = inferType(dflt);
    return type ? { default: dflt, type } : { default: dflt };
  }
  for (const key of Object.keys(value)) {
    if (!SPEC_KEYS.includes(key)) {
      throw definitionError(
        where,
        `param "${name}" has an unknown key "${key}": a param spec (an object with "type" or "default") takes ${SPEC_KEYS.join(", ")}; ` +
          `to use an object as the default, write { type: "object", default: {...} }`,
      );
    }
  }
  const defined = Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined));
  const parsed = ParamSpecSchema.safeParse(json(defined, "the spec"));
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw definitionError(where, `param "${name}": ${issue.path.join(".") || "spec"}: ${issue.message}`);
  }
  checkSchema(name, parsed.data, where);
  checkDefault(name, parsed.data, where);
  return parsed.data;
}

function inferType(value: JsonValue): ParamType | undefined {
  if (value === null) return undefined;
  if (Array.isArray(value)) return "array";
  return typeof value as "string" | "number" | "boolean" | "object";
}

function jsonType(value: unknown): ParamType {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  return typeof value as ParamType;
}

/** The spec compiles as a JSON Schema (a pattern RE2 accepts, a known format): else an import error. */
function checkSchema(name: string, spec: ParamSpec, where: Where): void {
  try {
    const validate = paramValidator(name, spec);
    if (
      spec.default !== undefined &&
      typeof spec.default === "string" &&
      spec.pattern &&
      !validate(spec.default)
    )
      throw new Error(
        `the default ${describe(spec.default)} does not match the pattern ${describe(spec.pattern)}`,
      );
  } catch (error) {
    const message = (error as Error).message.replace(`param "${name}": `, "");
    throw definitionError(where, `param "${name}": ${message}: change the spec`);
  }
}

/** A default must satisfy its own spec: type, enum and bounds. */
function checkDefault(name: string, spec: ParamSpec, where: Where): void {
  if (spec.default === undefined) return;
  const fail = (what: string) => {
    throw definitionError(
      where,
      `param "${name}": the default ${describe(spec.default)} ${what}: change the default or the spec`,
    );
  };
  const types = spec.type === undefined ? undefined : [spec.type].flat();
  const actual = jsonType(spec.default);
  if (types && !types.includes(actual) && !(actual === "integer" && types.includes("number"))) {
    fail(`is of type ${actual}, not ${types.join(" or ")}`);
  }
  if (spec.enum && !spec.enum.some((e) => JSON.stringify(e) === JSON.stringify(spec.default))) {
    fail(`is not one of the enum values ${describe(spec.enum)}`);
  }
  if (typeof spec.default === "number") {
    if (spec.minimum !== undefined && spec.default < spec.minimum)
      fail(`is below the minimum ${spec.minimum}`);
    if (spec.maximum !== undefined && spec.default > spec.maximum)
      fail(`is above the maximum ${spec.maximum}`);
  }
}
