/** The shell: a login page until the API accepts the session, then the pages. The URL holds the view. */
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { api, logout } from "./api.ts";
import { DagPage } from "./pages/Dag.tsx";
import { DagsPage } from "./pages/Dags.tsx";
import { LoginPage } from "./pages/Login.tsx";

export function App() {
  const dagId = /^\/dags\/([^/]+)/.exec(window.location.pathname)?.[1];
  const queries = useQueryClient();
  const session = useQuery({
    queryKey: ["session"],
    queryFn: async () => (await api.GET("/api/v2/version")).data ?? null,
  });
  const probe = useQuery({
    queryKey: ["authenticated"],
    queryFn: async () => (await api.GET("/api/v2/dags", { params: { query: { limit: 1 } } })).response.status,
  });
  if (probe.isPending) return <main className="center">Loading…</main>;
  if (probe.data === 401) return <LoginPage onLoggedIn={() => queries.invalidateQueries()} />;
  return (
    <div className="shell">
      <header>
        <strong>Updraft</strong>
        <nav>
          <a href="/">DAGs</a>
        </nav>
        <span className="spacer" />
        <small>v{session.data?.version}</small>
        <button
          onClick={async () => {
            await logout();
            await queries.invalidateQueries();
          }}
        >
          Log out
        </button>
      </header>
      {dagId ? <DagPage dagId={decodeURIComponent(dagId)} /> : <DagsPage />}
    </div>
  );
}
