/**
 * GET /ui/structure/structure_data (ui-spec.ts): a DAG's tasks and task groups as the graph and the
 * grid draw them (structure.ts): of the newest version, or of `version_number` (a run's graph shows
 * the version the run was created with). GET /ui/auth/me: who asks, and with which role.
 */
import type { ApiContext } from "../app.ts";
import { notFound } from "../errors.ts";
import { structureData } from "../structure.ts";
import { dagVersionStore } from "../../storage/dag-versions.ts";
import { dagStore } from "../../storage/dags.ts";

type LooseRoute = (
  operationId: string,
  handler: (request: {
    query: { dag_id: string; version_number?: number | null };
    user: { username: string; role: string };
  }) => Promise<unknown>,
) => void;

export function registerStructureRoutes(ctx: ApiContext): void {
  const route = ctx.route as unknown as LooseRoute;
  route("structure_data", async ({ query }) => {
    const newest = await dagStore(ctx.database).getSerialized(query.dag_id);
    if (!newest) throw notFound(`Dag with id ${query.dag_id} was not found`);
    const version = query.version_number;
    if (version === undefined || version === null) return structureData(newest);
    const dag = await dagVersionStore(ctx.database).serialized(query.dag_id, version);
    if (!dag) throw notFound(`Dag with id ${query.dag_id} and version number ${version} was not found`);
    return structureData(dag);
  });
  // Any signed-in user may ask who they are (an operation's GET of a non-admin tag needs dag_read,
  // which every role has).
  route("get_current_user_info", async ({ user }) => ({
    id: user.username,
    username: user.username,
    role: user.role,
  }));
}
