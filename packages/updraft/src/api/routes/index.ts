/** Every group of API routes; each file registers the operations of one or a few spec tags. */
import { registerWorkerRoutes } from "./workers.ts";
import type { ApiContext } from "../app.ts";
import { registerAdminRoutes } from "./admin.ts";
import { registerDagRunCallbackRoutes } from "./dag-run-callbacks.ts";
import { registerCalendarRoutes } from "./calendar.ts";
import { registerDagRunRoutes } from "./dag-runs.ts";
import { registerDagRoutes } from "./dags.ts";
import { registerMonitorRoutes } from "./monitor.ts";
import { registerStructureRoutes } from "./structure.ts";
import { registerTaskInstanceRoutes } from "./task-instances.ts";
import { registerUserRoutes } from "./users.ts";

export const ROUTE_GROUPS: ((ctx: ApiContext) => void)[] = [
  registerMonitorRoutes,
  registerDagRoutes,
  registerDagRunRoutes,
  registerTaskInstanceRoutes,
  registerAdminRoutes,
  registerUserRoutes,
  registerWorkerRoutes,
  registerStructureRoutes,
  registerDagRunCallbackRoutes,
  registerCalendarRoutes,
];
