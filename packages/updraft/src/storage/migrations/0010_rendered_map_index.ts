/** `task_instance.rendered_map_index` (issue 17): a mapped instance's label from its mapIndexTemplate. */
import type { MigrationContext } from "./helpers.ts";

export async function up({ db }: MigrationContext): Promise<void> {
  await db.schema.alterTable("task_instance").addColumn("rendered_map_index", "varchar(250)").execute();
}
