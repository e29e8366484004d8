// Lint: typescript-eslint's recommended rules, plus the one-way dependency rules of the rooms
// (docs/architecture.md): core and sdk import nothing of the rest; storage nothing above it; the
// services and operations nothing of api or cli.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

/** Import patterns that reach into the named rooms of packages/updraft/src. */
const rooms = (...names) => names.flatMap((n) => [`**/${n}/**`, `../${n}/*`, `./${n}/*`]);
/** What only the outer layers (services, HTTP, CLI, configuration, parsing) may import. */
const OUTER = rooms("api", "cli", "config", "dag-processing");

export default tseslint.config(
  { ignores: ["**/dist/**", "**/ui-dist/**", "**/node_modules/**", "**/.updraft-test/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": "error",
    },
  },
  {
    // The core and the SDK are pure: no I/O, no drivers, no HTTP. See packages/updraft/src/core/ADR.md.
    files: ["packages/updraft/src/core/**/*.ts", "packages/updraft/src/sdk/**/*.ts"],
    ignores: ["**/*.test.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            { group: ["node:*", "fs", "path", "child_process"], message: "The core is pure: no Node I/O." },
            {
              group: ["kysely", "pg", "mysql2", "pino", "commander", "fastify"],
              message: "The core is pure: no drivers or services.",
            },
            {
              group: [
                ...rooms("storage", "scheduler", "executor", "runner", "logs", "operations", "metrics"),
                ...OUTER,
                "**/logging.ts",
              ],
              message: "The core is pure and depends on nothing: see docs/architecture.md.",
            },
          ],
        },
      ],
    },
  },
  {
    // Storage knows rows, not who writes them: nothing above it.
    files: ["packages/updraft/src/storage/**/*.ts"],
    ignores: ["**/*.test.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              group: [...rooms("scheduler", "executor", "runner", "operations"), ...OUTER],
              message:
                "Layers point one way: core <- storage <- scheduler/executor <- operations <- api, cli.",
            },
          ],
        },
      ],
    },
  },
  ...[
    // The services never call what users ask for (operations call them), nor the API or the CLI.
    [
      ["scheduler", "executor", "runner"],
      ["api", "cli", "operations"],
    ],
    // The user operations are called by the API and the CLI, never the reverse.
    [["operations"], ["api", "cli"]],
  ].map(([from, above]) => ({
    files: from.map((room) => `packages/updraft/src/${room}/**/*.ts`),
    ignores: ["**/*.test.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              group: rooms(...above),
              message:
                "Layers point one way: core <- storage <- scheduler/executor <- operations <- api, cli.",
            },
          ],
        },
      ],
    },
  })),
  {
    files: ["**/*.js"],
    languageOptions: { globals: { process: "readonly", console: "readonly" } },
  },
);
