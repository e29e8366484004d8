/**
 * Rows of a fixed height in a scrolling box, only the visible ones (plus a margin) rendered: a log of
 * a million lines or a Gantt of thousands of tasks costs the same to draw as a short one.
 */
import { useLayoutEffect, useState, type RefObject } from "react";

export interface RowWindow {
  start: number;
  end: number;
}

export function useRowWindow(
  box: RefObject<HTMLElement | null>,
  count: number,
  rowHeight: number,
  overscan = 12,
): RowWindow {
  const [range, setRange] = useState<RowWindow>({ start: 0, end: Math.min(count, 60) });
  useLayoutEffect(() => {
    const el = box.current;
    if (!el) return;
    const update = () => {
      const start = Math.max(0, Math.floor(el.scrollTop / rowHeight) - overscan);
      const end = Math.min(count, Math.ceil((el.scrollTop + el.clientHeight) / rowHeight) + overscan);
      setRange((r) => (r.start === start && r.end === end ? r : { start, end }));
    };
    update();
    el.addEventListener("scroll", update, { passive: true });
    const resize = new ResizeObserver(update);
    resize.observe(el);
    return () => {
      el.removeEventListener("scroll", update);
      resize.disconnect();
    };
  }, [box, count, rowHeight, overscan]);
  return range;
}
