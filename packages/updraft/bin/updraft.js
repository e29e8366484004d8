#!/usr/bin/env node
// The `updraft` command. Runs the built package (npm run build); see README.md.
const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  console.error(`Updraft needs Node.js 22.18 or newer (24 LTS recommended); this is ${process.version}.`);
  process.exit(1);
}
const { main } = await import("../dist/cli/main.js");
await main();
