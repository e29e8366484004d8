/**
 * GET /ui/structure/structure_data (ui-spec.ts): a DAG's tasks and task groups as the graph and the
 * grid draw them (structure.ts). Updraft keeps one version of each DAG: version 1, the current one.
 */
import type { ApiContext } from "../app.ts";
import { CURRENT_VERSION_NUMBER } from "../dag-view.ts";
import { notFound } from "../errors.ts";
import { structureData } from "../structure.ts";
import { dagStore } from "../../storage/dags.ts";

type LooseRoute = (
  operationId: string,
  handler: (request: { query: { dag_id: string; version_number?: number | null } }) => Promise<unknown>,
) => void;

export function registerStructureRoutes(ctx: ApiContext): void {
  const route = ctx.route as unknown as LooseRoute;
  route("structure_data", async ({ query }) => {
    const dag = await dagStore(ctx.database).getSerialized(query.dag_id);
    if (!dag) throw notFound(`Dag with id ${query.dag_id} was not found`);
    const version = query.version_number ?? CURRENT_VERSION_NUMBER;
    if (version !== CURRENT_VERSION_NUMBER)
      throw notFound(`Dag with id ${query.dag_id} and version number ${version} was not found`);
    return structureData(dag);
  });
}
