/**
 * What each role may do, with Airflow's meaning of the four roles:
 * - Viewer reads everything about DAGs, runs, task instances, logs, XComs and pools;
 * - User also acts on DAGs: pause, trigger, clear, mark, delete runs, backfill;
 * - Op also manages the installation: variables, connections, pools, configuration, jobs;
 * - Admin may do everything (users are managed with `updraft users`).
 * An operation's need comes from its spec tag and whether it only reads (GET, or a POST that lists).
 */
import type { Role } from "../../storage/users.ts";
import type { Operation } from "../spec.ts";

export type Need = "open" | "dag_read" | "dag_edit" | "admin_read" | "admin_edit";

const OPEN_TAGS = new Set(["Monitor", "Version", "Login"]);
const ADMIN_TAGS = new Set(["Connection", "Variable", "Config", "Job", "Plugin", "Provider"]);

const GRANTS: Record<Role, ReadonlySet<Need>> = {
  Viewer: new Set(["open", "dag_read"]),
  User: new Set(["open", "dag_read", "dag_edit"]),
  Op: new Set(["open", "dag_read", "dag_edit", "admin_read", "admin_edit"]),
  Admin: new Set(["open", "dag_read", "dag_edit", "admin_read", "admin_edit"]),
};

export function needOf(op: Pick<Operation, "tag" | "method" | "operationId">): Need {
  if (OPEN_TAGS.has(op.tag)) return "open";
  const reads = op.method === "GET" || op.operationId.startsWith("get_");
  // Pools are read by everyone who reads DAGs (they explain why tasks wait), changed by Op.
  if (op.tag === "Pool") return reads ? "dag_read" : "admin_edit";
  if (ADMIN_TAGS.has(op.tag)) return reads ? "admin_read" : "admin_edit";
  return reads ? "dag_read" : "dag_edit";
}

export function allows(role: Role, need: Need): boolean {
  return GRANTS[role]?.has(need) ?? false;
}
