// Lint: typescript-eslint's recommended rules, plus the one-way dependency rule of the pure core.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

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
              group: ["**/storage/**", "**/cli/**", "**/config/**", "**/dag-processing/**"],
              message: "Dependencies point one way: core <- storage/scheduler <- api <- cli.",
            },
          ],
        },
      ],
    },
  },
  {
    files: ["**/*.js"],
    languageOptions: { globals: { process: "readonly", console: "readonly" } },
  },
);
