/**
 * The type check as data: Updraft's default options see DAG files as Node loads them (ES modules,
 * .ts imports, top-level await, "updraft" and "updraft-orchestrator" as this package), errors in an
 * imported helper are reported against the helper, and a project's tsconfig.json replaces the defaults.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { formatTypeDiagnostic, typeCheck, typeCheckTargets } from "./type-check.ts";

function folder(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "updraft-tc-"));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, ".."), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

describe("type check", () => {
  const made: string[] = [];
  after(() => made.forEach((d) => rmSync(d, { recursive: true, force: true })));

  test("default options: ESM as Node loads it; a helper's error is the helper's", () => {
    const dir = folder({
      "etl.ts": `import { dag, empty } from "updraft";
import type { TaskHandle } from "updraft-orchestrator";
import { readFile } from "node:fs/promises";
import { prefix } from "./lib/names.ts";
const text = await readFile(new URL(import.meta.url), "utf8");
export default dag({ dagId: prefix + text.length, schedule: "@daily" }, () => {
  const a: TaskHandle = empty("a");
  a.before(empty("b"));
});`,
      "lib/names.ts": `export const prefix: string = 1;`,
      "ignored/skip.ts": `const x: number = "never checked";`,
      ".updraftignore": "ignored/\n",
    });
    made.push(dir);
    const result = typeCheck(typeCheckTargets([dir]), dir);
    assert.equal(result.configFile, null);
    assert.deepEqual(result.checked, [join(dir, "etl.ts"), join(dir, "lib", "names.ts")]);
    assert.deepEqual(
      result.diagnostics.map((d) => formatTypeDiagnostic(d, dir)),
      ["lib/names.ts:1:14: Type 'number' is not assignable to type 'string'."],
    );
  });

  test("the nearest tsconfig.json is used instead of the defaults; 'updraft' still means this package", () => {
    const dir = folder({
      "tsconfig.json": `{ "compilerOptions": { "strict": false, "module": "preserve", "noEmit": true, "types": [] } }`,
      "dags/loose.ts": `import { dag, empty } from "updraft";
export function untyped(x) { return x; }
export default dag({ dagId: "loose", retries: "many" }, () => { empty("a"); });`,
    });
    made.push(dir);
    const result = typeCheck(typeCheckTargets([join(dir, "dags")]), join(dir, "dags"));
    assert.equal(result.configFile, join(dir, "tsconfig.json"));
    // No implicit-any error (strict is off), but the SDK's types still apply: no `retries` on a DAG.
    assert.deepEqual(
      result.diagnostics.map((d) => [d.line, d.code]),
      [[3, 2353]],
      JSON.stringify(result.diagnostics),
    );
  });
});
