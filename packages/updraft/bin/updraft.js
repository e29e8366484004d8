#!/usr/bin/env -S node --max-semi-space-size=8
// --max-semi-space-size: V8's young generation grows to 3 x 16 MiB under a burst of allocations (a
// thousand tasks starting) and keeps that memory; 8 MiB bounds it and costs no measurable throughput
// (bench/memory.ts: +112 MiB over idle with 1,000 running tasks by default, +24 MiB with it).
// The `updraft` command. Runs the built package (npm run build); see README.md.
const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  console.error(`Updraft needs Node.js 22.18 or newer (24 LTS recommended); this is ${process.version}.`);
  process.exit(1);
}
// Compiled code is cached on disk (Node's compile cache): every later command starts faster.
(await import("node:module")).enableCompileCache?.();
// `updraft triggerer` holds thousands of small, long-lived triggers and allocates little: a 1 MiB young
// generation keeps its memory flat (bench:triggerer). Node takes heap sizes at start only, so the
// process replaces itself (same pid, no second process) once, with the flag.
if (
  process.argv[2] === "triggerer" &&
  !process.execArgv.includes("--max-semi-space-size=1") &&
  process.execve
)
  process.execve(
    process.execPath,
    [process.execPath, "--max-semi-space-size=1", ...process.argv.slice(1)],
    process.env,
  );
// `updraft triggerer` loads its own command only (cli/triggerer-main.ts: a leaner process).
const entry = process.argv[2] === "triggerer" ? "../dist/cli/triggerer-main.js" : "../dist/cli/main.js";
const { main } = await import(entry);
await main();
