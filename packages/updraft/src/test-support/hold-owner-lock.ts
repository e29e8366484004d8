/**
 * A child process for liveness tests: registers a scheduler job, holds its owner lock, prints the job
 * id, and waits to be killed. Arguments: database URL, then a JSON of DatabaseOptions.
 */
import { openDatabase } from "../storage/database.ts";
import { jobStore } from "../storage/jobs.ts";

const [url, options] = process.argv.slice(2);
const database = openDatabase(url!, JSON.parse(options ?? "{}"));
const id = await jobStore(database).start("scheduler");
const lock = await database.adapter.ownerLocks.hold(id);
while (lock.heldSince() === null) await new Promise((r) => setTimeout(r, 20));
process.stdout.write(`${id}\n`);
setInterval(() => undefined, 60_000);
