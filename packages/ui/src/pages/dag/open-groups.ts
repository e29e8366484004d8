/**
 * Which task groups of a DAG are open, shared by the graph and the grid and kept in the browser
 * (localStorage, as Airflow's UI does): a group opened in one view is open in the other, and still
 * open after visiting a task instance and coming back.
 */
import { useCallback, useState } from "react";

const key = (dagId: string) => `updraft.openGroups.${dagId}`;

function read(dagId: string): ReadonlySet<string> {
  try {
    const saved: unknown = JSON.parse(localStorage.getItem(key(dagId)) ?? "[]");
    return new Set(Array.isArray(saved) ? saved.filter((id) => typeof id === "string") : []);
  } catch {
    return new Set();
  }
}

function write(dagId: string, open: ReadonlySet<string>): void {
  try {
    if (open.size === 0) localStorage.removeItem(key(dagId));
    else localStorage.setItem(key(dagId), JSON.stringify([...open]));
  } catch {
    // Storage full or refused: the groups stay open for this page only.
  }
}

export function useOpenGroups(dagId: string) {
  const [state, setState] = useState(() => ({ dagId, open: read(dagId) }));
  const open = state.dagId === dagId ? state.open : read(dagId);
  const update = useCallback(
    (change: (open: ReadonlySet<string>) => ReadonlySet<string>) =>
      setState((prev) => {
        const next = change(prev.dagId === dagId ? prev.open : read(dagId));
        write(dagId, next);
        return { dagId, open: next };
      }),
    [dagId],
  );
  /** Opens a closed group, closes an open one. */
  const toggle = useCallback(
    (groupId: string) =>
      update((was) => {
        const next = new Set(was);
        if (!next.delete(groupId)) next.add(groupId);
        return next;
      }),
    [update],
  );
  return { open, update, toggle };
}
