/**
 * The grid's hover card: one element for the whole grid, filled from the cell or run header under
 * the pointer (or focused by keyboard). It listens on the grid itself, so hovering never re-renders
 * the thousands of cells.
 */
import { useEffect, useState, type ReactNode, type RefObject } from "react";

export type Describe = (element: HTMLElement) => ReactNode | null;

const WIDTH = 300;

export function GridTooltip({
  container,
  describe,
}: {
  container: RefObject<HTMLElement | null>;
  describe: RefObject<Describe>;
}) {
  const [tip, setTip] = useState<{ content: ReactNode; left: number; top: number } | null>(null);
  useEffect(() => {
    const grid = container.current;
    if (!grid) return;
    const show = (event: Event) => {
      const target = (event.target as Element).closest<HTMLElement>("[data-tip], [role=gridcell]");
      const content = target ? describe.current(target) : null;
      if (!target || !content) return setTip(null);
      const r = target.getBoundingClientRect();
      const left = r.right + 8 + WIDTH > window.innerWidth ? r.left - WIDTH - 8 : r.right + 8;
      const top = Math.min(r.top, window.innerHeight - 140);
      setTip({ content, left: Math.max(4, left), top: Math.max(4, top) });
    };
    const hide = () => setTip(null);
    grid.addEventListener("mouseover", show);
    grid.addEventListener("focusin", show);
    grid.addEventListener("mouseleave", hide);
    grid.addEventListener("scroll", hide, { passive: true });
    return () => {
      grid.removeEventListener("mouseover", show);
      grid.removeEventListener("focusin", show);
      grid.removeEventListener("mouseleave", hide);
      grid.removeEventListener("scroll", hide);
    };
  }, [container, describe]);
  if (!tip) return null;
  return (
    <div role="tooltip" className="grid-tooltip" style={{ left: tip.left, top: tip.top, width: WIDTH }}>
      {tip.content}
    </div>
  );
}
