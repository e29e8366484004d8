/**
 * A short-lived child that type-checks DAG files for the DAG processor, so the compiler never runs in
 * a service's event loop: reads `{ files, projectDir }` as JSON on stdin, writes the TypeCheckResult
 * as JSON on stdout, exits.
 */
import { text } from "node:stream/consumers";
import { typeCheck } from "./type-check.ts";
import type { TypeCheckRequest } from "./type-check-child.ts";

const request = JSON.parse(await text(process.stdin)) as TypeCheckRequest;
process.stdout.write(JSON.stringify(typeCheck(request.files, request.projectDir)));
