/** The DAG's gantt view (to be built). */
export function GanttTab({ dagId }: { dagId: string }) {
  return <p className="muted">The gantt of {dagId} is not built yet.</p>;
}
