/** The DAG's grid view (to be built). */
export function GridTab({ dagId }: { dagId: string }) {
  return <p className="muted">The grid of {dagId} is not built yet.</p>;
}
