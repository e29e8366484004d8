import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { cliReference, configurationReference } from "./generate.ts";

const docs = new URL("../../../../docs/", import.meta.url);

test("docs/configuration.md matches the option table (run `npm run docs` after changing options)", () => {
  assert.equal(readFileSync(new URL("configuration.md", docs), "utf8"), configurationReference());
});

test("docs/cli.md matches the commands (run `npm run docs` after changing the CLI)", () => {
  assert.equal(readFileSync(new URL("cli.md", docs), "utf8"), cliReference());
});
