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
  const update = (changes: Record<string, string | null>) => {
    const next = read();
    for (const [k, v] of Object.entries(changes)) {
      if (v === null || v === "") next.delete(k);
      else next.set(k, v);
    }
    window.history.pushState(null, "", `${window.location.pathname}?${next}`);
    setParams(next);
  };
  return [params, update] as const;
}
