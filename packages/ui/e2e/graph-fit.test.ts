/**
 * A 2,000-task graph in a real browser: it opens showing the whole DAG, Fit View brings the whole DAG
 * back after zooming in, the minimap still draws the graph zoomed out, and no debug line is printed.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Page } from "playwright-core";
import { bigDagSource, bigDagTasks } from "../bench/big-dag.ts";
import { adminSession, eventually, missing } from "./harness.ts";

const BIG = "big_2000_tasks";
const s = adminSession({
  dagFiles: { [`${BIG}.ts`]: bigDagSource(BIG, bigDagTasks(2000)) },
  timeoutMs: 120_000,
});

/** Whether the whole laid-out graph is inside the pane at the current viewport (with 2 px to spare). */
async function wholeInView(page: Page): Promise<string | null> {
  return page.evaluate(() => {
    const canvas = document.querySelector<HTMLElement>('[data-testid="graph-canvas"]')!;
    const [w, h] = [Number(canvas.dataset.width), Number(canvas.dataset.height)];
    const pane = document.querySelector(".react-flow")!.getBoundingClientRect();
    const m = /translate\(([-\d.]+)px, ([-\d.]+)px\) scale\(([\d.e-]+)\)/.exec(
      (document.querySelector(".react-flow__viewport") as HTMLElement).style.transform,
    );
    if (!m) return "no viewport transform";
    const [x, y, k] = [Number(m[1]), Number(m[2]), Number(m[3])];
    const inside = x >= -2 && y >= -2 && x + w * k <= pane.width + 2 && y + h * k <= pane.height + 2;
    return inside ? null : `graph ${w}x${h} at (${x}, ${y}) zoom ${k} in a ${pane.width}x${pane.height} pane`;
  });
}

test(
  "a 2,000-task graph opens whole, Fit View fits it, the minimap draws it zoomed out",
  { skip: missing },
  async () => {
    const { page, server } = s;
    await eventually(async () =>
      assert.equal((await server.apiGet(`/api/v2/dags/${BIG}/tasks`)).total_entries, 2000),
    );
    await page.goto(`${server.base}/dags/${BIG}?tab=graph`);
    await page.locator('[data-testid="graph-canvas"][data-layout-ms]').waitFor({ timeout: 60_000 });
    await page.locator(".react-flow__viewport").waitFor({ state: "attached" });
    await page.waitForTimeout(500);
    assert.equal(await wholeInView(page), null, "the first view shows the whole DAG");
    assert.equal(await page.getByText(/laid out in/).count(), 0, "no debug line on the page");

    for (let i = 0; i < 8; i++) await page.getByRole("button", { name: "Zoom In" }).click();
    await page.waitForTimeout(400);
    assert.notEqual(await wholeInView(page), null, "zoomed in, part of the DAG is out of view");
    await page.getByRole("button", { name: "Fit View" }).click();
    await page.waitForTimeout(800);
    assert.equal(await wholeInView(page), null, "Fit View shows the whole DAG");

    // Zoomed out (the graph drawn on the canvas), the minimap still shows the graph.
    await page.getByTestId("graph-overview").waitFor();
    const inked = await page
      .getByRole("img", { name: "Graph overview" })
      .evaluate((el) => {
        const c = el as HTMLCanvasElement;
        const data = c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 3; i < data.length; i += 4) if (data[i]! > 0) n++;
        return n;
      })
      .catch(() => 0);
    assert.ok(inked > 500, `the minimap draws the graph zoomed out (${inked} pixels drawn)`);
  },
);
