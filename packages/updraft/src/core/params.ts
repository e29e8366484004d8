/**
 * A run's params: the DAG's defaults overridden by the conf a run is triggered with, validated
 * against each param's JSON-Schema-style spec (Airflow's Param). Ajv does the validation.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import { InvalidInputError } from "./errors.ts";
import { re2Engine } from "./regex.ts";
import type { ParamSpec } from "./serialized.ts";

// Patterns are the DAG author's and inputs the user's: RE2 keeps each match linear (no ReDoS).
const ajv = new Ajv({ allErrors: true, strict: false, code: { regExp: re2Engine } });

/** Compiled validators by schema text; Ajv keys its own cache by object, which would grow per trigger. */
const validators = new Map<string, ValidateFunction>();
const MAX_CACHED = 1000;

/**
 * The validator for one param's spec. Throws InvalidInputError naming the param when the spec is not a
 * schema Ajv can compile (a bad `pattern`, an unknown `format`): the DAG parser calls it, so a bad
 * spec is an import error instead of a failure on every trigger.
 */
export function paramValidator(name: string, spec: ParamSpec): ValidateFunction {
  const { default: _default, description: _d, title: _t, ...schema } = spec;
  const key = JSON.stringify(schema);
  let validate = validators.get(key);
  if (!validate) {
    try {
      validate = ajv.compile(schema);
    } catch (error) {
      throw new InvalidInputError(`param "${name}": ${(error as Error).message}`);
    }
    if (validators.size >= MAX_CACHED) validators.clear();
    validators.set(key, validate);
  }
  return validate;
}

/** Merges defaults and conf, validates every param; throws naming each param that is wrong. */
export function resolveParams(
  dagId: string,
  specs: Record<string, ParamSpec>,
  conf: Record<string, unknown> = {},
): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [name, spec] of Object.entries(specs)) {
    const value = name in conf ? conf[name] : spec.default;
    if (value === undefined) {
      problems.push(`param "${name}" has no default and the run's conf does not set it`);
      continue;
    }
    const validate = paramValidator(name, spec);
    if (!validate(value))
      problems.push(
        `param "${name}" ${describeErrors(validate.errors ?? [])} (got ${JSON.stringify(value)})`,
      );
    values[name] = value;
  }
  // Conf keys that are not declared params still reach the run (dag_run.conf), as in Airflow.
  for (const [name, value] of Object.entries(conf)) if (!(name in values)) values[name] = value;
  if (problems.length > 0)
    throw new InvalidInputError(`dag "${dagId}": the run's conf is not valid: ${problems.join("; ")}`);
  return values;
}

function describeErrors(errors: ErrorObject[]): string {
  return errors
    .map((e) => `${e.instancePath ? `at ${e.instancePath} ` : ""}${e.message ?? "is invalid"}`)
    .join(", ");
}
