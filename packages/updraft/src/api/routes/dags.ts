/** DAGs, tasks, DAG source, stats, tags, import errors, versions, warnings, reparsing. */
import type { ApiContext } from "../app.ts";

export function registerDagRoutes(_ctx: ApiContext): void {}
