/**
 * Rendering a notifier's or an alert's text with the callback context (Jinja syntax via nunjucks,
 * as task template fields are rendered by the runner): `{{ ti.task_id }}`, `{{ run_id }}`,
 * `{{ dag.dag_id }}`, `{{ exception.message }}`... A name the context lacks fails the render, as
 * Airflow's StrictUndefined does, so a typo is an error naming the template, not a blank.
 */
import nunjucks from "nunjucks";

const env = new nunjucks.Environment(null, { autoescape: false, throwOnUndefined: true });

// As Airflow's Jinja: a null value prints "None" (nunjucks's strict mode refuses it). The runner's
// renderer (executor/task-context.ts) wraps the same check; wrapped once per process either way.
const runtime = nunjucks.runtime as unknown as {
  ensureDefined: ((value: unknown, lineno: number, colno: number) => unknown) & { printsNone?: boolean };
};
if (!runtime.ensureDefined.printsNone) {
  const ensureDefined = runtime.ensureDefined;
  runtime.ensureDefined = Object.assign(
    (value: unknown, lineno: number, colno: number) =>
      value === null ? "None" : ensureDefined(value, lineno, colno),
    { printsNone: true },
  );
}

/** The text rendered with `context`; `where` names it in the error ("smtpNotifier's subject"). */
export function renderText(source: string, context: Record<string, unknown>, where: string): string {
  // Only `{{`, `{%` and `{#` start template syntax: other text renders as itself.
  if (!source.includes("{")) return source;
  try {
    return new nunjucks.Template(source, env).render(context);
  } catch (error) {
    throw new Error(
      `${where} could not be rendered: ${(error as Error).message.replace(/\s+/g, " ").trim()}`,
      { cause: error },
    );
  }
}

/** Every string in `value` (objects and lists walked) rendered with `context`. */
export function renderValue(value: unknown, context: Record<string, unknown>, where: string): unknown {
  if (typeof value === "string") return renderText(value, context, where);
  if (Array.isArray(value)) return value.map((v, i) => renderValue(v, context, `${where}[${i}]`));
  if (value && typeof value === "object")
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, renderValue(v, context, `${where}.${k}`)]),
    );
  return value;
}
