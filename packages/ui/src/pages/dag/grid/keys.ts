/** Where the arrow, Home/End and Page keys move the grid's focus (row -1 is the run header row). */
import type { Position } from "./GridRow.tsx";

export function nextPosition(
  key: string,
  at: Position,
  size: { rows: number; cols: number; page: number },
  ctrl: boolean,
): Position | null {
  const clamp = (row: number, col: number) => ({
    row: Math.max(-1, Math.min(size.rows - 1, row)),
    col: Math.max(0, Math.min(size.cols - 1, col)),
  });
  switch (key) {
    case "ArrowRight":
      return clamp(at.row, at.col + 1);
    case "ArrowLeft":
      return clamp(at.row, at.col - 1);
    case "ArrowDown":
      return clamp(at.row + 1, at.col);
    case "ArrowUp":
      return clamp(at.row - 1, at.col);
    case "PageDown":
      return clamp(at.row + size.page, at.col);
    case "PageUp":
      return clamp(at.row - size.page, at.col);
    case "Home":
      return clamp(ctrl ? -1 : at.row, 0);
    case "End":
      return clamp(ctrl ? size.rows - 1 : at.row, size.cols - 1);
    default:
      return null;
  }
}
