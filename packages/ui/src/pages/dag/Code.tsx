/** The DAG's code as the server parsed it: its file, numbered lines in a monospace block. */
import { useQuery } from "@tanstack/react-query";
import { api, must } from "../../api.ts";
import { formatDate } from "../../components/time.ts";
import { useDagDetails } from "./Details.tsx";
import "./source.css";

export function CodeTab({ dagId }: { dagId: string }) {
  const details = useDagDetails(dagId);
  const source = useQuery({
    queryKey: ["dagSource", dagId],
    queryFn: async () =>
      must(await api.GET("/api/v2/dagSources/{dag_id}", { params: { path: { dag_id: dagId } } })),
  });
  if (source.isError)
    return (
      <p role="alert" className="error">
        Reading the code of {dagId} failed: {source.error.message}
      </p>
    );
  if (source.isPending) return <p className="muted">Loading the code…</p>;
  const content = (source.data as { content: string | null }).content;
  const lines = content === null ? [] : content.replace(/\n$/, "").split("\n");
  const d = details.data;
  return (
    <section className="code-tab" aria-label="Source code">
      <p className="code-head">
        <code>{d?.relative_fileloc ?? d?.fileloc ?? "…"}</code>
        <span className="muted">
          version {(source.data as { version_number: number | null }).version_number ?? "–"}
          {d ? ` · parsed ${formatDate(d.last_parsed_time)}` : ""} · {lines.length} lines
        </span>
      </p>
      {content === null ? (
        <p className="muted">The DAG file is no longer in the DAGs folder.</p>
      ) : (
        <pre className="code-view" tabIndex={0} aria-label={`Source of ${dagId}`}>
          <code>
            {lines.map((line, i) => (
              <span className="code-line" key={i}>
                <span className="code-number" aria-hidden>
                  {i + 1}
                </span>
                {line}
                {"\n"}
              </span>
            ))}
          </code>
        </pre>
      )}
    </section>
  );
}
