/**
 * Module hooks for processes that load DAG files: the specifier "updraft" (or "updraft-orchestrator")
 * means this very package, whatever a DAGs project's node_modules holds, so DAGs and the services
 * that run them always share one SDK; and TypeScript files inside node_modules (the
 * bundled examples, once installed) are type-stripped, which Node refuses to do there by itself.
 */
import { readFileSync } from "node:fs";
import { registerHooks, stripTypeScriptTypes } from "node:module";
import { fileURLToPath } from "node:url";

const SELF_EXTENSION = import.meta.url.endsWith(".ts") ? ".ts" : ".js";
export const SDK_ENTRY_URL = new URL(`../index${SELF_EXTENSION}`, import.meta.url).href;

/** DAG files import "updraft" (an npm alias in a DAGs project) or the published name itself. */
const SDK_SPECIFIERS = new Set(["updraft", "updraft-orchestrator"]);

let registered = false;

export function registerDagModuleHooks(): void {
  if (registered) return;
  registered = true;
  registerHooks({
    resolve(specifier, context, nextResolve) {
      if (SDK_SPECIFIERS.has(specifier)) return { url: SDK_ENTRY_URL, shortCircuit: true };
      return nextResolve(specifier, context);
    },
    load(url, context, nextLoad) {
      if (url.startsWith("file:") && url.includes("/node_modules/") && /\.m?ts(\?|$)/.test(url)) {
        const source = readFileSync(fileURLToPath(url.replace(/\?.*$/, "")), "utf8");
        return { format: "module", source: stripTypeScriptTypes(source), shortCircuit: true };
      }
      return nextLoad(url, context);
    },
  });
}
