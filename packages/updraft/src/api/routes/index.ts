/** Every group of API routes; each file registers the operations of one or a few spec tags. */
import type { ApiContext } from "../app.ts";
import { registerMonitorRoutes } from "./monitor.ts";

export const ROUTE_GROUPS: ((ctx: ApiContext) => void)[] = [registerMonitorRoutes];
