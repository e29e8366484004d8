/**
 * Module hooks for processes that load DAG files: the specifier "updraft" means this very package
 * (DAG folders have no node_modules of their own), and TypeScript files inside node_modules (the
 * bundled examples, once installed) are type-stripped, which Node refuses to do there by itself.
 */
import { readFileSync } from "node:fs";
import { registerHooks, stripTypeScriptTypes } from "node:module";
import { fileURLToPath } from "node:url";

const SELF_EXTENSION = import.meta.url.endsWith(".ts") ? ".ts" : ".js";
export const SDK_ENTRY_URL = new URL(`../index${SELF_EXTENSION}`, import.meta.url).href;

let registered = false;

export function registerDagModuleHooks(): void {
  if (registered) return;
  registered = true;
  registerHooks({
    resolve(specifier, context, nextResolve) {
      if (specifier === "updraft") return { url: SDK_ENTRY_URL, shortCircuit: true };
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
