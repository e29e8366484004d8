/**
 * The DAG's code as the server stored it with each version: the newest by default, any version from
 * the selector (`?code_version=`), or two compared (`?compare=` the older one) as a line diff from the
 * `diff` package, added lines green and removed ones red.
 */
import { diffLines } from "diff";
import { useUrlState } from "../../url.ts";
import { formatDate } from "../../components/time.ts";
import { useDagDetails } from "./Details.tsx";
import { useDagSource, useDagVersions, type DagVersion } from "./versions.ts";
import "./source.css";

const numberParam = (value: string | null) => (value && /^\d+$/.test(value) ? Number(value) : null);

export function CodeTab({ dagId }: { dagId: string }) {
  const [params, update] = useUrlState();
  const details = useDagDetails(dagId);
  const versions = useDagVersions(dagId);
  const newest = versions.data?.[0]?.version_number ?? null;
  const shown = numberParam(params.get("code_version")) ?? newest;
  const against = numberParam(params.get("compare"));
  const source = useDagSource(dagId, shown, !versions.isPending);
  const base = useDagSource(dagId, against, against !== null);
  const failed = versions.error ?? source.error ?? base.error;
  if (failed)
    return (
      <p role="alert" className="error">
        Reading the code of {dagId} failed: {failed.message}
      </p>
    );
  if (!source.data || versions.isPending) return <p className="muted">Loading the code…</p>;
  const content = source.data.content;
  const d = details.data;
  const list = versions.data ?? [];
  const older = list.filter((v) => shown === null || v.version_number < shown);
  return (
    <section className="code-tab" aria-label="Source code">
      <div className="code-head">
        <code>{d?.relative_fileloc ?? d?.fileloc ?? "…"}</code>
        <VersionSelect
          label="Version"
          versions={list}
          value={source.data.version_number}
          onChange={(v) => update({ code_version: v === newest ? null : String(v), compare: null })}
        />
        <label className="code-compare">
          <input
            type="checkbox"
            checked={against !== null}
            disabled={older.length === 0}
            onChange={(e) => update({ compare: e.target.checked ? String(older[0]!.version_number) : null })}
          />
          Compare
        </label>
        {against !== null && (
          <VersionSelect
            label="Compare with"
            versions={older}
            value={against}
            onChange={(v) => update({ compare: String(v) })}
          />
        )}
        <span className="muted">{d ? `parsed ${formatDate(d.last_parsed_time)}` : ""}</span>
      </div>
      {content === null ? (
        <p className="muted">The code of this version was not recorded, and its file is gone.</p>
      ) : against === null ? (
        <Listing dagId={dagId} content={content} />
      ) : base.isPending ? (
        <p className="muted">Loading version {against}…</p>
      ) : (
        <Diff dagId={dagId} before={base.data?.content ?? ""} after={content} from={against} to={shown} />
      )}
    </section>
  );
}

function VersionSelect(props: {
  label: string;
  versions: DagVersion[];
  value: number | null;
  onChange: (version: number) => void;
}) {
  return (
    <label className="code-version">
      {props.label}{" "}
      <select
        aria-label={props.label}
        value={props.value ?? ""}
        onChange={(e) => props.onChange(Number(e.target.value))}
      >
        {props.versions.map((v) => (
          <option key={v.version_number} value={v.version_number}>
            v{v.version_number} · {formatDate(v.created_at)}
          </option>
        ))}
      </select>
    </label>
  );
}

const linesOf = (text: string) => text.replace(/\n$/, "").split("\n");

function Listing({ dagId, content }: { dagId: string; content: string }) {
  const lines = linesOf(content);
  return (
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
  );
}

interface DiffLine {
  kind: "added" | "removed" | "same";
  text: string;
  /** The line's number in the old file (removed, same) and in the new one (added, same). */
  old?: number;
  new?: number;
}

/** The whole file with each line marked: kept, added in `after`, or removed from `before`. */
function diffRows(before: string, after: string): DiffLine[] {
  const rows: DiffLine[] = [];
  let [o, n] = [1, 1];
  for (const change of diffLines(before, after)) {
    const kind = change.added ? "added" : change.removed ? "removed" : "same";
    for (const text of linesOf(change.value))
      rows.push({
        kind,
        text,
        old: kind === "added" ? undefined : o++,
        new: kind === "removed" ? undefined : n++,
      });
  }
  return rows;
}

function Diff(props: { dagId: string; before: string; after: string; from: number; to: number | null }) {
  const rows = diffRows(props.before, props.after);
  const added = rows.filter((r) => r.kind === "added").length;
  const removed = rows.filter((r) => r.kind === "removed").length;
  return (
    <>
      <p className="muted code-diff-summary" role="status">
        v{props.from} → v{props.to}: <span className="code-diff-added-count">+{added}</span>{" "}
        <span className="code-diff-removed-count">−{removed}</span> lines
      </p>
      <pre className="code-view code-diff" tabIndex={0} aria-label={`Changes to ${props.dagId}`}>
        <code>
          {rows.map((row, i) => (
            <span className={`code-line code-${row.kind}`} key={i} data-change={row.kind}>
              <span className="code-number" aria-hidden>
                {row.old ?? ""}
              </span>
              <span className="code-number" aria-hidden>
                {row.new ?? ""}
              </span>
              <span className="code-sign" aria-label={row.kind === "same" ? undefined : row.kind}>
                {row.kind === "added" ? "+" : row.kind === "removed" ? "−" : " "}
              </span>
              {row.text}
              {"\n"}
            </span>
          ))}
        </code>
      </pre>
    </>
  );
}
