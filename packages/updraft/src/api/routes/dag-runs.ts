/** DAG runs (list, batch list, get, trigger, patch, delete, clear, wait) and backfills. */
import type { ApiContext } from "../app.ts";

export function registerDagRunRoutes(_ctx: ApiContext): void {}
