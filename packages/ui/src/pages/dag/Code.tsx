/** The DAG's code view (to be built). */
export function CodeTab({ dagId }: { dagId: string }) {
  return <p className="muted">The code of {dagId} is not built yet.</p>;
}
