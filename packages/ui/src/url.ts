/** The URL's query string as state: what is on screen can be shared as a link. */
import { useEffect, useState } from "react";

export function useUrlState() {
  const read = () => new URLSearchParams(window.location.search);
  const [params, setParams] = useState(read);
  useEffect(() => {
    const onPop = () => setParams(read());
    window.addEventListener("popstate", onPop);
    return () => window.removeEventListener("popstate", onPop);
  }, []);
  /** Sets (or with null, removes) query parameters; `replace` keeps the history entry (typing, scrolling). */
  const update = (changes: Record<string, string | null>, { replace = false } = {}) => {
    const next = read();
    for (const [k, v] of Object.entries(changes)) {
      if (v === null || v === "") next.delete(k);
      else next.set(k, v);
    }
    const search = next.toString();
    const href = `${window.location.pathname}${search ? `?${search}` : ""}`;
    if (replace) window.history.replaceState(null, "", href);
    else window.history.pushState(null, "", href);
    window.dispatchEvent(new PopStateEvent("popstate"));
  };
  return [params, update] as const;
}
