/**
 * The pages and their addresses. The path names the page, the query string what is on it (see
 * url.ts), so any view can be shared as a link; moving between pages never reloads the document.
 */
import { useEffect, useState, type AnchorHTMLAttributes, type MouseEvent } from "react";

export type AdminSection = "variables" | "connections" | "pools" | "users" | "audit" | "workers";
export const ADMIN_SECTIONS: AdminSection[] = [
  "variables",
  "connections",
  "pools",
  "users",
  "audit",
  "workers",
];

export type Route =
  | { page: "dags" }
  | { page: "dag"; dagId: string }
  | { page: "taskInstance"; dagId: string; runId: string; taskId: string }
  | { page: "admin"; section: AdminSection }
  | { page: "assets" }
  | { page: "asset"; assetId: number }
  | { page: "browseRuns" }
  | { page: "browseTaskInstances" }
  | { page: "notFound"; path: string };

export function parseRoute(pathname: string): Route {
  const parts = pathname.split("/").filter(Boolean).map(decodeURIComponent);
  if (parts.length === 0) return { page: "dags" };
  if (parts[0] === "dags" && parts.length === 2) return { page: "dag", dagId: parts[1]! };
  if (parts[0] === "dags" && parts.length === 6 && parts[2] === "runs" && parts[4] === "tasks")
    return { page: "taskInstance", dagId: parts[1]!, runId: parts[3]!, taskId: parts[5]! };
  if (parts[0] === "assets" && parts.length === 1) return { page: "assets" };
  if (parts[0] === "runs" && parts.length === 1) return { page: "browseRuns" };
  if (parts[0] === "task-instances" && parts.length === 1) return { page: "browseTaskInstances" };
  if (parts[0] === "assets" && parts.length === 2 && /^\d+$/.test(parts[1]!))
    return { page: "asset", assetId: Number(parts[1]) };
  if (parts[0] === "admin" && parts.length === 2 && ADMIN_SECTIONS.includes(parts[1] as AdminSection))
    return { page: "admin", section: parts[1] as AdminSection };
  return { page: "notFound", path: pathname };
}

const query = (params?: Record<string, string | number | null | undefined>) => {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params ?? {}))
    if (v !== null && v !== undefined && v !== "") q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : "";
};
const seg = encodeURIComponent;

/** Every address the UI links to, built in one place. */
export const hrefs = {
  dags: (params?: Record<string, string | null>) => `/${query(params)}`,
  dag: (dagId: string, params?: Record<string, string | number | null>) =>
    `/dags/${seg(dagId)}${query(params)}`,
  taskInstance: (
    dagId: string,
    runId: string,
    taskId: string,
    params?: Record<string, string | number | null>,
  ) => `/dags/${seg(dagId)}/runs/${seg(runId)}/tasks/${seg(taskId)}${query(params)}`,
  assets: () => "/assets",
  browseRuns: (params?: Record<string, string | null>) => `/runs${query(params)}`,
  browseTaskInstances: (params?: Record<string, string | null>) => `/task-instances${query(params)}`,
  asset: (assetId: number) => `/assets/${assetId}`,
  admin: (section: AdminSection, params?: Record<string, string | null>) =>
    `/admin/${section}${query(params)}`,
};

/** Goes to `href` without reloading; every useRoute and useUrlState hears of it. */
export function navigate(href: string, { replace = false } = {}): void {
  if (replace) window.history.replaceState(null, "", href);
  else window.history.pushState(null, "", href);
  window.dispatchEvent(new PopStateEvent("popstate"));
}

export function useLocation(): Location {
  const [, setTick] = useState(0);
  useEffect(() => {
    const onPop = () => setTick((n) => n + 1);
    window.addEventListener("popstate", onPop);
    return () => window.removeEventListener("popstate", onPop);
  }, []);
  return window.location;
}

export function useRoute(): Route {
  return parseRoute(useLocation().pathname);
}

/** An ordinary link (open in a new tab works) that moves inside the page on a plain click. */
export function Link({ href, onClick, ...rest }: AnchorHTMLAttributes<HTMLAnchorElement> & { href: string }) {
  const click = (event: MouseEvent<HTMLAnchorElement>) => {
    onClick?.(event);
    if (
      event.defaultPrevented ||
      event.button !== 0 ||
      event.metaKey ||
      event.ctrlKey ||
      event.shiftKey ||
      event.altKey
    )
      return;
    event.preventDefault();
    navigate(href);
  };
  return <a href={href} onClick={click} {...rest} />;
}
