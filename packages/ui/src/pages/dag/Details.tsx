/** The DAG's details view (to be built). */
export function DetailsTab({ dagId }: { dagId: string }) {
  return <p className="muted">The details of {dagId} is not built yet.</p>;
}
