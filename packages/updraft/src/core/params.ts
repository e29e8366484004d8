/**
 * A run's params: the DAG's defaults overridden by the conf a run is triggered with, validated
 * against each param's JSON-Schema-style spec (Airflow's Param). Ajv does the validation.
 */
import { Ajv, type ErrorObject } from "ajv";
import { InvalidInputError } from "./errors.ts";
import type { ParamSpec } from "./serialized.ts";

const ajv = new Ajv({ allErrors: true, strict: false });

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
    const { default: _default, description: _d, title: _t, ...schema } = spec;
    const validate = ajv.compile(schema);
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
