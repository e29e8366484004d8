/**
 * A try's log: numbered lines, followed live while the try writes, searchable (the query is in the
 * URL, matches highlighted, next/previous), downloadable, long lines wrapped on request. Unwrapped,
 * only the visible lines are rendered; wrapped, the first CAP lines until the user asks for all.
 */
import {
  useEffect,
  useLayoutEffect,
  useMemo,
  useRef,
  useState,
  type KeyboardEvent,
  type ReactNode,
  type RefObject,
} from "react";
import { useUrlState } from "../../url.ts";
import { downloadLog, useTaskLog, type LogLine, type TryKey } from "./useTaskLog.ts";
import { useRowWindow } from "./windowing.ts";
import "./log.css";

const LINE_PX = 18;
const CAP = 2000;
const MAX_MATCHES = 10_000;
export const LOG_SEARCH_PARAM = "log_search";
export const LOG_LEVEL_PARAM = "log_level";

/** Levels by severity: the filter shows the chosen one and those above it. */
const LEVELS = ["debug", "info", "warning", "error", "critical"];
const severity = (level: string) => Math.max(0, LEVELS.indexOf(level));

interface Match {
  line: number;
  at: number;
}

function findMatches(lines: LogLine[], query: string): Match[] {
  const out: Match[] = [];
  if (!query) return out;
  const q = query.toLowerCase();
  for (let line = 0; line < lines.length && out.length < MAX_MATCHES; line++) {
    const text = lines[line]!.text.toLowerCase();
    for (let at = text.indexOf(q); at >= 0; at = text.indexOf(q, at + q.length)) out.push({ line, at });
  }
  return out;
}

/** The line's text with each occurrence of the query marked, the current one apart. */
function highlight(text: string, query: string, line: number, current: Match | undefined): ReactNode {
  if (!query) return text;
  const lower = text.toLowerCase();
  const q = query.toLowerCase();
  const parts: ReactNode[] = [];
  let from = 0;
  for (let at = lower.indexOf(q); at >= 0; at = lower.indexOf(q, at + q.length)) {
    parts.push(text.slice(from, at));
    const isCurrent = current?.line === line && current.at === at;
    parts.push(
      <mark key={at} className={isCurrent ? "current" : undefined}>
        {text.slice(at, at + q.length)}
      </mark>,
    );
    from = at + q.length;
  }
  parts.push(text.slice(from));
  return parts;
}

export function LogView({ tryKey, title }: { tryKey: TryKey; title?: string }) {
  const log = useTaskLog(tryKey, true);
  const [params, update] = useUrlState();
  const query = params.get(LOG_SEARCH_PARAM) ?? "";
  const [wrap, setWrap] = useState(false);
  const [showAll, setShowAll] = useState(false);
  const [current, setCurrent] = useState(0);
  const [downloadError, setDownloadError] = useState<string | null>(null);
  const box = useRef<HTMLDivElement>(null);
  const minLevel = params.get(LOG_LEVEL_PARAM) ?? "";
  const all = useMemo(() => log.data?.lines ?? [], [log.data]);
  // The lines at the chosen level or above, with their numbers in the whole log.
  const { lines, numbers } = useMemo(() => {
    if (!minLevel) return { lines: all, numbers: undefined };
    const floor = severity(minLevel);
    const numbers: number[] = [];
    all.forEach((line, i) => severity(line.level) >= floor && numbers.push(i));
    return { lines: numbers.map((i) => all[i]!), numbers };
  }, [all, minLevel]);
  const matches = useMemo(() => findMatches(lines, query), [lines, query]);
  const following = Boolean(log.data?.token);

  useEffect(() => setCurrent(0), [query]);
  useFollowTail(box, lines.length);

  const goTo = (index: number) => {
    if (matches.length === 0) return;
    const i = (index + matches.length) % matches.length;
    setCurrent(i);
    const { line } = matches[i]!;
    if (wrap && line >= CAP) setShowAll(true);
    requestAnimationFrame(() => scrollToLine(box.current, line, wrap));
  };
  const onSearchKey = (event: KeyboardEvent<HTMLInputElement>) => {
    if (event.key !== "Enter") return;
    event.preventDefault();
    goTo(current + (event.shiftKey ? -1 : 1));
  };
  const download = () => {
    setDownloadError(null);
    downloadLog(tryKey).catch((e: Error) => setDownloadError(e.message));
  };

  return (
    <section className="log-view" aria-label="Log">
      <div className="log-toolbar">
        <h2>{title ?? `Log of try ${tryKey.tryNumber}`}</h2>
        <input
          type="search"
          aria-label="Search the log"
          placeholder="Search the log"
          value={query}
          onChange={(e) => update({ [LOG_SEARCH_PARAM]: e.target.value }, { replace: true })}
          onKeyDown={onSearchKey}
        />
        <button type="button" disabled={!matches.length} onClick={() => goTo(current - 1)}>
          Previous
        </button>
        <button type="button" disabled={!matches.length} onClick={() => goTo(current + 1)}>
          Next
        </button>
        {query && (
          <span className="muted" role="status">
            {matches.length === 0
              ? "no matches"
              : `${current + 1} of ${matches.length}${matches.length >= MAX_MATCHES ? "+" : ""} matches`}
          </span>
        )}
        <label>
          Level{" "}
          <select
            aria-label="Log level"
            value={minLevel}
            onChange={(e) => update({ [LOG_LEVEL_PARAM]: e.target.value || null }, { replace: true })}
          >
            <option value="">all</option>
            <option value="info">info and above</option>
            <option value="warning">warning and above</option>
            <option value="error">error and above</option>
          </select>
        </label>
        <span className="spacer" />
        <label className="switch">
          <input type="checkbox" checked={wrap} onChange={(e) => setWrap(e.target.checked)} />
          Wrap lines
        </label>
        <button type="button" onClick={download}>
          Download
        </button>
      </div>
      <p className="muted log-status">
        {minLevel ? `${lines.length} of ${all.length}` : lines.length} lines
        {following ? " · following live" : ""}
      </p>
      {log.isError && (
        <p role="alert" className="error">
          Reading the log failed: {log.error.message}
        </p>
      )}
      {downloadError && (
        <p role="alert" className="error">
          {downloadError}
        </p>
      )}
      <LogLines
        box={box}
        lines={lines}
        numbers={numbers}
        wrap={wrap}
        showAll={showAll}
        onShowAll={() => setShowAll(true)}
        render={(text, i) => highlight(text, query, i, matches[current])}
      />
    </section>
  );
}

function scrollToLine(el: HTMLElement | null, line: number, wrap: boolean) {
  if (!el) return;
  if (wrap) el.querySelector(`[data-line="${line}"]`)?.scrollIntoView({ block: "center" });
  else el.scrollTop = Math.max(0, line * LINE_PX - el.clientHeight / 2);
}

/** While the reader is at the bottom, new lines keep it there (tail -f); scrolled up, it stays put. */
function useFollowTail(box: RefObject<HTMLDivElement | null>, count: number) {
  const atBottom = useRef(true);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const onScroll = () =>
      (atBottom.current = el.scrollTop + el.clientHeight >= el.scrollHeight - LINE_PX * 2);
    el.addEventListener("scroll", onScroll, { passive: true });
    return () => el.removeEventListener("scroll", onScroll);
  }, [box]);
  useLayoutEffect(() => {
    const el = box.current;
    if (el && atBottom.current && count > 0 && el.scrollHeight > el.clientHeight)
      el.scrollTop = el.scrollHeight;
  }, [box, count]);
}

function LogLines({
  box,
  lines,
  numbers,
  wrap,
  showAll,
  onShowAll,
  render,
}: {
  box: RefObject<HTMLDivElement | null>;
  lines: LogLine[];
  /** Each line's number in the whole log, when only some are shown. */
  numbers?: number[];
  wrap: boolean;
  showAll: boolean;
  onShowAll: () => void;
  render: (text: string, line: number) => ReactNode;
}) {
  const visible = useRowWindow(box, wrap ? 0 : lines.length, LINE_PX);
  const digits = String(numbers ? (numbers.at(-1) ?? 0) + 1 : lines.length).length;
  const row = (i: number) => {
    const line = lines[i]!;
    const classes = ["log-line", `level-${line.level}`, line.runner ? "runner" : "", line.stream ?? ""];
    return (
      <div
        key={i}
        data-line={i}
        data-level={line.level}
        data-stream={line.stream ?? undefined}
        className={classes.filter(Boolean).join(" ")}
      >
        <span className="log-number" aria-hidden>
          {(numbers?.[i] ?? i) + 1}
        </span>
        <span className="log-level" aria-label={`level ${line.level}`}>
          {line.level.toUpperCase()}
        </span>
        {line.prefix && <span className="log-prefix">{line.prefix} </span>}
        <span className="log-text">{render(line.text, i)}</span>
      </div>
    );
  };
  const shown = wrap ? (showAll ? lines.length : Math.min(lines.length, CAP)) : 0;
  return (
    <div
      ref={box}
      className={wrap ? "log-box wrap" : "log-box"}
      tabIndex={0}
      role="log"
      aria-label="Log lines"
      style={{ ["--log-digits" as string]: `${digits}ch` }}
    >
      {wrap ? (
        <div className="log-rows">{Array.from({ length: shown }, (_, i) => row(i))}</div>
      ) : (
        <div className="log-rows" style={{ height: lines.length * LINE_PX }}>
          <div style={{ transform: `translateY(${visible.start * LINE_PX}px)` }}>
            {/* The window is of the last render: the level filter may have shortened the lines since. */}
            {Array.from(
              { length: Math.max(0, Math.min(visible.end, lines.length) - visible.start) },
              (_, j) => row(visible.start + j),
            )}
          </div>
        </div>
      )}
      {wrap && shown < lines.length && (
        <button type="button" className="log-show-all" onClick={onShowAll}>
          Show all {lines.length} lines
        </button>
      )}
    </div>
  );
}
