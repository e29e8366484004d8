/** Variables, connections, pools, event logs, jobs, config, assets, and the empty plugin/provider lists. */
import type { ApiContext } from "../app.ts";
import { registerAssetRoutes } from "./assets.ts";
import { registerConnectionRoutes } from "./connections.ts";
import { registerEventLogRoutes } from "./event-logs.ts";
import { registerMiscRoutes } from "./misc.ts";
import { registerPoolRoutes } from "./pools.ts";
import { registerVariableRoutes } from "./variables.ts";

export function registerAdminRoutes(ctx: ApiContext): void {
  registerVariableRoutes(ctx);
  registerConnectionRoutes(ctx);
  registerPoolRoutes(ctx);
  registerEventLogRoutes(ctx);
  registerMiscRoutes(ctx);
  registerAssetRoutes(ctx);
}
