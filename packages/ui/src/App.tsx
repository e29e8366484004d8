/** The shell: a login page until the API accepts the session, then the navigation and the routed page. */
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { api, logout, SESSION_SIGNAL, useMe } from "./api.ts";
import { ConnectionBanner } from "./components/ConnectionBanner.tsx";
import { ThemeToggle } from "./components/ThemeToggle.tsx";
import { storedZone, useDagZone } from "./components/time.ts";
import { ZoneSelect } from "./components/ZoneSelect.tsx";
import { AdminPage } from "./pages/admin/AdminPage.tsx";
import { AssetPage, AssetsPage } from "./pages/assets/Assets.tsx";
import { BrowseRunsPage, BrowseTaskInstancesPage } from "./pages/browse/Browse.tsx";
import { DagPage } from "./pages/dag/DagPage.tsx";
import { DagsPage } from "./pages/Dags.tsx";
import { LoginPage } from "./pages/Login.tsx";
import { TaskInstancePage } from "./pages/task-instance/TaskInstancePage.tsx";
import { hrefs, Link, useRoute, type Route } from "./router.tsx";

export function App() {
  const route = useRoute();
  const queries = useQueryClient();
  const session = useQuery({
    queryKey: ["session"],
    queryFn: async () => (await api.GET("/api/v2/version")).data ?? null,
  });
  const me = useMe();
  const [zone, setZone] = useState(storedZone);
  // With "the DAG's zone" chosen, the page is drawn again (not remounted) once that zone is known.
  useDagZone();
  // Another tab logged in or out: start over from what the server says (and drop the other user's data).
  useEffect(() => {
    const changed = (event: StorageEvent) => {
      if (event.key === SESSION_SIGNAL) void queries.resetQueries();
    };
    window.addEventListener("storage", changed);
    return () => window.removeEventListener("storage", changed);
  }, [queries]);
  if (me.isPending)
    return (
      <>
        <ConnectionBanner />
        <main className="center">Loading…</main>
      </>
    );
  if (me.isError && me.data === undefined)
    return (
      <>
        <ConnectionBanner />
        <main className="center" role="alert">
          Could not reach the server: {me.error.message}
        </main>
      </>
    );
  if (me.data === null) return <LoginPage onLoggedIn={() => queries.resetQueries()} />;
  const admin = me.data?.role === "Admin";
  const active = (page: Route["page"], section?: string) =>
    route.page === page && (!section || (route.page === "admin" && route.section === section))
      ? "page"
      : undefined;
  return (
    <div className="shell">
      <a className="skip" href="#content">
        Skip to content
      </a>
      <header className="topbar">
        <Link href={hrefs.dags()} className="brand">
          Updraft
        </Link>
        <nav aria-label="Main">
          <Link href={hrefs.dags()} aria-current={active("dags")}>
            DAGs
          </Link>
          <Link href={hrefs.assets()} aria-current={active("assets") ?? active("asset")}>
            Assets
          </Link>
          <Link href={hrefs.browseRuns()} aria-current={active("browseRuns")}>
            Runs
          </Link>
          <Link href={hrefs.browseTaskInstances()} aria-current={active("browseTaskInstances")}>
            Task instances
          </Link>
          <Link href={hrefs.admin("audit")} aria-current={active("admin", "audit")}>
            Audit log
          </Link>
          <Link href={hrefs.admin("variables")} aria-current={active("admin", "variables")}>
            Variables
          </Link>
          <Link href={hrefs.admin("connections")} aria-current={active("admin", "connections")}>
            Connections
          </Link>
          <Link href={hrefs.admin("pools")} aria-current={active("admin", "pools")}>
            Pools
          </Link>
          <Link href={hrefs.admin("workers")} aria-current={active("admin", "workers")}>
            Workers
          </Link>
          {admin && (
            <Link href={hrefs.admin("users")} aria-current={active("admin", "users")}>
              Users
            </Link>
          )}
        </nav>
        <span className="spacer" />
        <small className="muted" data-testid="signed-in">
          {me.data?.username} ({me.data?.role})
        </small>
        <small className="muted">v{session.data?.version}</small>
        <ZoneSelect zone={zone} onChange={setZone} />
        <ThemeToggle />
        <button
          onClick={async () => {
            await logout();
            await queries.resetQueries();
          }}
        >
          Log out
        </button>
      </header>
      <ConnectionBanner />
      <div id="content" key={zone}>
        <Page route={route} />
      </div>
    </div>
  );
}

function Page({ route }: { route: Route }) {
  switch (route.page) {
    case "dags":
      return <DagsPage />;
    case "dag":
      return <DagPage key={route.dagId} dagId={route.dagId} />;
    case "taskInstance":
      return <TaskInstancePage dagId={route.dagId} runId={route.runId} taskId={route.taskId} />;
    case "admin":
      return <AdminPage section={route.section} />;
    case "assets":
      return <AssetsPage />;
    case "asset":
      return <AssetPage key={route.assetId} assetId={route.assetId} />;
    case "browseRuns":
      return <BrowseRunsPage />;
    case "browseTaskInstances":
      return <BrowseTaskInstancesPage />;
    case "notFound":
      return (
        <main>
          <h1>Not found</h1>
          <p>
            Nothing lives at <code>{route.path}</code>. <Link href={hrefs.dags()}>Back to the DAGs</Link>
          </p>
        </main>
      );
  }
}
