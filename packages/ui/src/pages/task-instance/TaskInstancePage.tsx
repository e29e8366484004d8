/** One task instance (to be built): state, tries, rendered templates, XCom, dependencies and its log. */
import { hrefs, Link } from "../../router.tsx";

export function TaskInstancePage({ dagId, runId, taskId }: { dagId: string; runId: string; taskId: string }) {
  return (
    <main>
      <div className="toolbar">
        <Link href={hrefs.dags()}>DAGs</Link>
        <span aria-hidden>/</span>
        <Link href={hrefs.dag(dagId, { run: runId })}>{dagId}</Link>
        <span aria-hidden>/</span>
        <h1>{taskId}</h1>
        <span className="muted">{runId}</span>
      </div>
    </main>
  );
}
