/**
 * Runs a type check (type-check.ts) in a short-lived child process with a time limit, for the DAG
 * processor: the compiler takes seconds of CPU and hundreds of MiB, which must not land on the
 * scheduler's event loop. This module does not load TypeScript itself.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { userCodeEnv } from "../core/child-env.ts";
import type { TypeCheckResult } from "./type-diagnostics.ts";

export interface TypeCheckRequest {
  files: string[];
  projectDir: string;
}

export type TypeCheckOutcome = { ok: true; result: TypeCheckResult } | { ok: false; reason: string };

const WORKER = fileURLToPath(
  new URL(`./type-check-worker${import.meta.url.endsWith(".ts") ? ".ts" : ".js"}`, import.meta.url),
);
const STDERR_TAIL = 4000;

export function typeCheckInChild(request: TypeCheckRequest, timeoutMs: number): Promise<TypeCheckOutcome> {
  return new Promise((settle) => {
    let settled = false;
    const resolve = (outcome: TypeCheckOutcome) => {
      if (!settled) settle(outcome);
      settled = true;
    };
    const child = spawn(process.execPath, ["--disable-warning=ExperimentalWarning", WORKER], {
      stdio: ["pipe", "pipe", "pipe"],
      // Nothing here runs DAG code, but the child needs none of the service's keys either.
      env: userCodeEnv(process.env),
    });
    const stdout: Buffer[] = [];
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-STDERR_TAIL)));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      resolve({ ok: false, reason: `the type check did not finish within ${timeoutMs / 1000}s` });
    }, timeoutMs);
    child.on("error", (error) => {
      clearTimeout(timer);
      resolve({ ok: false, reason: `the type check could not start: ${error.message}` });
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) {
        try {
          return resolve({
            ok: true,
            result: JSON.parse(Buffer.concat(stdout).toString()) as TypeCheckResult,
          });
        } catch {
          // fall through: report what the child said
        }
      }
      resolve({ ok: false, reason: `the type check failed (exit ${code ?? signal}): ${stderr.trim()}` });
    });
    child.stdin.on("error", () => undefined); // a child that died early: reported by "close"
    child.stdin.end(JSON.stringify(request));
  });
}
