/** The admin pages, one section each: variables, connections, pools, users, the audit log and workers. */
import type { AdminSection } from "../../router.tsx";
import { AuditSection } from "./Audit.tsx";
import { ConnectionsSection } from "./Connections.tsx";
import { PoolsSection } from "./Pools.tsx";
import { UsersSection } from "./Users.tsx";
import { VariablesSection } from "./Variables.tsx";
import { WorkersSection } from "./Workers.tsx";
import "./admin.css";

const SECTIONS: Record<AdminSection, () => React.JSX.Element> = {
  variables: VariablesSection,
  connections: ConnectionsSection,
  pools: PoolsSection,
  users: UsersSection,
  audit: AuditSection,
  workers: WorkersSection,
};

export function AdminPage({ section }: { section: AdminSection }) {
  const Section = SECTIONS[section];
  return (
    <main className="admin-page" aria-label={section}>
      <Section key={section} />
    </main>
  );
}
