/** The admin pages (to be built): variables, connections, pools, users and the audit log. */
import type { AdminSection } from "../../router.tsx";

export function AdminPage({ section }: { section: AdminSection }) {
  return (
    <main>
      <h1>{section}</h1>
    </main>
  );
}
