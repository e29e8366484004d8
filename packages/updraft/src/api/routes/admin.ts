/** Variables, connections, pools, event logs, jobs, config, and the empty plugin/provider/asset lists. */
import type { ApiContext } from "../app.ts";

export function registerAdminRoutes(_ctx: ApiContext): void {}
