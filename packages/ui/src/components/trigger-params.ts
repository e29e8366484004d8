/**
 * A DAG's params (get_dag_details: `{name: {value, description, schema}}`) as form fields, and
 * their values checked against each param's JSON schema before a trigger is sent: type, enum,
 * minimum/maximum, length, pattern, items — what Airflow's Param (and the server's Ajv) checks.
 */
export type Kind = "string" | "integer" | "number" | "boolean" | "enum" | "json";

export interface ParamSchema {
  type?: string | string[];
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  format?: string;
  minItems?: number;
  maxItems?: number;
  items?: ParamSchema;
  title?: string;
  [key: string]: unknown;
}

export interface ParamField {
  name: string;
  title: string;
  description: string | null;
  schema: ParamSchema;
  kind: Kind;
  /** Whether null (an empty field) is allowed. */
  nullable: boolean;
  /** The default as the form edits it: text for text inputs, a boolean for a checkbox. */
  initial: string | boolean;
}

const typesOf = (schema: ParamSchema): string[] =>
  schema.type === undefined ? [] : Array.isArray(schema.type) ? schema.type : [schema.type];

function kindOf(schema: ParamSchema, value: unknown): Kind {
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return "enum";
  const types = typesOf(schema).filter((t) => t !== "null");
  const type = types.length === 1 ? types[0] : types.length === 0 ? typeof value : "json";
  if (type === "string" || type === "integer" || type === "number" || type === "boolean") return type;
  return "json";
}

/** The form's fields from get_dag_details' `params`. */
export function paramFields(params: Record<string, unknown> | null | undefined): ParamField[] {
  return Object.entries(params ?? {}).map(([name, raw]) => {
    const p = (raw ?? {}) as { value?: unknown; description?: string | null; schema?: ParamSchema };
    const schema = p.schema ?? {};
    const kind = kindOf(schema, p.value);
    const value = p.value ?? null;
    return {
      name,
      title: typeof schema.title === "string" ? schema.title : name,
      description: p.description ?? null,
      schema,
      kind,
      nullable: typesOf(schema).includes("null"),
      initial:
        kind === "boolean"
          ? value === true
          : value === null
            ? ""
            : kind === "json" || kind === "enum"
              ? kind === "enum" && typeof value === "string"
                ? value
                : JSON.stringify(value, null, kind === "json" ? 2 : undefined)
              : String(value),
    };
  });
}

/** The field's entry as a JSON value, or an error saying why it is not one. */
export function parseField(field: ParamField, entry: string | boolean): { value?: unknown; error?: string } {
  if (field.kind === "boolean") return { value: entry === true };
  const text = String(entry);
  if (text.trim() === "" && field.kind !== "string") {
    return field.nullable ? { value: null } : { error: "A value is required." };
  }
  switch (field.kind) {
    case "string":
      if (text === "" && field.nullable) return { value: null };
      return { value: text };
    case "integer":
    case "number": {
      const n = Number(text);
      if (!Number.isFinite(n)) return { error: `Must be a number.` };
      if (field.kind === "integer" && !Number.isInteger(n)) return { error: "Must be a whole number." };
      return { value: n };
    }
    case "enum": {
      const found = field.schema.enum!.find((v) => (typeof v === "string" ? v : JSON.stringify(v)) === text);
      return found === undefined
        ? { error: `Must be one of ${enumLabels(field).join(", ")}.` }
        : { value: found };
    }
    default:
      try {
        return { value: JSON.parse(text) };
      } catch (e) {
        return { error: `Not valid JSON: ${(e as Error).message}` };
      }
  }
}

export const enumLabels = (field: ParamField) =>
  (field.schema.enum ?? []).map((v) => (typeof v === "string" ? v : JSON.stringify(v)));

const typeMatches = (type: string, value: unknown) => {
  switch (type) {
    case "null":
      return value === null;
    case "integer":
      return typeof value === "number" && Number.isInteger(value);
    case "number":
      return typeof value === "number";
    case "array":
      return Array.isArray(value);
    case "object":
      return value !== null && typeof value === "object" && !Array.isArray(value);
    default:
      return typeof value === type;
  }
};

/** The first way `value` breaks `schema`, in words; null when it is valid. */
export function schemaError(schema: ParamSchema, value: unknown): string | null {
  const types = typesOf(schema);
  if (types.length && !types.some((t) => typeMatches(t, value)))
    return value === null
      ? "A value is required."
      : `Must be ${types.filter((t) => t !== "null").join(" or ")}.`;
  if (value === null) return null;
  if (schema.enum && !schema.enum.some((v) => JSON.stringify(v) === JSON.stringify(value)))
    return `Must be one of ${schema.enum.map((v) => JSON.stringify(v)).join(", ")}.`;
  if (typeof value === "number") {
    if (schema.minimum !== undefined && value < schema.minimum) return `Must be at least ${schema.minimum}.`;
    if (schema.maximum !== undefined && value > schema.maximum) return `Must be at most ${schema.maximum}.`;
    if (schema.exclusiveMinimum !== undefined && value <= schema.exclusiveMinimum)
      return `Must be more than ${schema.exclusiveMinimum}.`;
    if (schema.exclusiveMaximum !== undefined && value >= schema.exclusiveMaximum)
      return `Must be less than ${schema.exclusiveMaximum}.`;
  }
  if (typeof value === "string") {
    const length = [...value].length;
    if (schema.minLength !== undefined && length < schema.minLength)
      return schema.minLength === 1
        ? "A value is required."
        : `Must be at least ${schema.minLength} characters.`;
    if (schema.maxLength !== undefined && length > schema.maxLength)
      return `Must be at most ${schema.maxLength} characters.`;
    if (schema.pattern !== undefined && !new RegExp(schema.pattern, "u").test(value))
      return `Must match the pattern ${schema.pattern}.`;
    const format = formatError(schema.format, value);
    if (format) return format;
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems)
      return `Needs at least ${schema.minItems} items.`;
    if (schema.maxItems !== undefined && value.length > schema.maxItems)
      return `Takes at most ${schema.maxItems} items.`;
    if (schema.items)
      for (const [i, item] of value.entries()) {
        const error = schemaError(schema.items, item);
        if (error) return `Item ${i + 1}: ${error}`;
      }
  }
  return null;
}

function formatError(format: string | undefined, value: string): string | null {
  if (format === "date" && !/^\d{4}-\d{2}-\d{2}$/.test(value)) return "Must be a date (YYYY-MM-DD).";
  if (format === "date-time" && Number.isNaN(Date.parse(value))) return "Must be a date and time.";
  if (format === "email" && !/^[^@\s]+@[^@\s]+$/.test(value)) return "Must be an e-mail address.";
  return null;
}

/** Every field's value, or the error of each field that is wrong (then nothing may be sent). */
export function validateParams(
  fields: ParamField[],
  entries: Record<string, string | boolean>,
): { conf: Record<string, unknown>; errors: Record<string, string> } {
  const conf: Record<string, unknown> = {};
  const errors: Record<string, string> = {};
  for (const field of fields) {
    const parsed = parseField(field, entries[field.name] ?? field.initial);
    const error = parsed.error ?? schemaError(field.schema, parsed.value);
    if (error) errors[field.name] = error;
    else conf[field.name] = parsed.value;
  }
  return { conf, errors };
}
