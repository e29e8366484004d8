/** The DAG's graph view (to be built). */
export function GraphTab({ dagId }: { dagId: string }) {
  return <p className="muted">The graph of {dagId} is not built yet.</p>;
}
