/**
 * Regular expressions written by DAG authors (a param's `pattern`) and matched against what users
 * send. They run on RE2 (re2js, pure JavaScript): linear time in the input whatever the pattern, so
 * `^(a+)+$` cannot stall the webserver (ReDoS). RE2 has no lookaround or backreferences; a pattern
 * using them is refused where the DAG is parsed, with the reason.
 */
import { RE2JS } from "re2js";
import { InvalidInputError } from "./errors.ts";

/** The subset of RegExp that Ajv's `code.regExp` engine needs. */
export interface SafeRegExp {
  test(input: string): boolean;
  readonly source: string;
  readonly flags: string;
}

/** Compiles `pattern` with RE2; throws InvalidInputError naming the pattern and what RE2 refused. */
export function safeRegExp(pattern: string): SafeRegExp {
  let compiled: RE2JS;
  try {
    compiled = RE2JS.compile(pattern);
  } catch (error) {
    throw new InvalidInputError(
      `the regular expression ${JSON.stringify(pattern)} is not valid RE2 syntax (${(error as Error).message}); ` +
        "RE2 has no lookaround ((?=, (?!, (?<=) or backreferences (\\1)",
    );
  }
  return { test: (input) => compiled.test(input), source: pattern, flags: "" };
}

/** Ajv's regExp engine: Ajv calls it with the pattern and "u"; `code` names it in generated code. */
export const re2Engine = Object.assign((pattern: string, _flags?: string) => safeRegExp(pattern), {
  code: 'require("re2js").RE2JS.compile',
});
