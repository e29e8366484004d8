/** Task instances (list, batch, get, patch, tries, dependencies, logs), clearing, XCom entries. */
import type { ApiContext } from "../app.ts";

export function registerTaskInstanceRoutes(_ctx: ApiContext): void {}
