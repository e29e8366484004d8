/**
 * doc_md as Markdown and schedules in words, in a real browser against a real standalone: a DAG's
 * docs render (heading, link, image, table) on its Details tab with nothing of the script or the
 * `javascript:` link it also carries taking effect; a task's docs render in the graph's panel and
 * on its task instance page; the DAG's cron reads "every day at 02:30, Europe/Amsterdam". Saves
 * docs/screenshots/dag-docs.png.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { adminSession, eventually, missing, SCREENSHOTS } from "./harness.ts";

/** A 1x1 red PNG. */
const PIXEL =
  "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==";

const DOC = [
  "# Nightly load",
  "",
  "Loads the **warehouse** every night. See [the runbook](https://example.com/runbook?team=data).",
  "",
  `![pixel](${PIXEL})`,
  "",
  "| step | owner |",
  "| --- | --- |",
  "| extract | data |",
  "| load | ops |",
  "",
  "- [x] documented",
  "- [ ] automated",
  "",
  "<script>window.__pwned = 'script'</script>",
  "",
  `<img src="x" onerror="window.__pwned = 'onerror'">`,
  "",
  "[click me](javascript:window.__pwned='link')",
].join("\n");

const DAG_FILE = `import { dag, empty } from "updraft";
export default dag(
  {
    dagId: "docs_demo",
    schedule: "30 2 * * *",
    timezone: "Europe/Amsterdam",
    startDate: "2025-01-01",
    catchup: false,
    docMd: ${JSON.stringify(DOC)},
  },
  () => {
    empty("load", { docMd: "## Load step\\n\\nWrites \`facts\`; see [the schema](https://example.com/schema)." });
  },
);
`;

const s = adminSession({ dagFiles: { "docs_demo.ts": DAG_FILE } }, async (server) => {
  // The standalone parses its DAG files after it answers: wait for this one.
  await eventually(() => server.apiGet("/api/v2/dags/docs_demo"), 60_000, "docs_demo parsed");
});

const pwned = () => s.page.evaluate(() => (window as unknown as { __pwned?: string }).__pwned ?? null);

test("the schedule reads in words, with the cron in the tooltip", { skip: missing }, async () => {
  await s.page.goto(`${s.server.base}/?search=docs_demo`);
  const schedule = s.page.getByRole("row", { name: /docs_demo/ }).locator(".schedule");
  await schedule.waitFor();
  assert.equal(await schedule.textContent(), "every day at 02:30, Europe/Amsterdam");
  assert.equal(await schedule.getAttribute("title"), "Schedule: 30 2 * * *");
  await s.page.goto(`${s.server.base}/dags/docs_demo`);
  const header = s.page.locator(".toolbar .schedule");
  await header.waitFor();
  assert.equal(await header.textContent(), "every day at 02:30, Europe/Amsterdam");
});

test("a DAG's docMd renders as Markdown, and nothing in it runs", { skip: missing }, async () => {
  await s.page.goto(`${s.server.base}/dags/docs_demo?tab=details`);
  const docs = s.page.getByRole("region", { name: "Documentation of docs_demo" });
  await docs.getByRole("heading", { level: 1, name: "Nightly load" }).waitFor();
  const link = docs.getByRole("link", { name: "the runbook" });
  assert.equal(await link.getAttribute("href"), "https://example.com/runbook?team=data");
  assert.equal(await link.getAttribute("target"), "_blank");
  assert.equal(await link.getAttribute("rel"), "noopener noreferrer");
  const image = docs.getByRole("img", { name: "pixel" });
  assert.equal(await image.getAttribute("src"), PIXEL);
  await s.page.waitForFunction(() => {
    const img = document.querySelector<HTMLImageElement>('.markdown img[alt="pixel"]');
    return img?.complete && img.naturalWidth === 1;
  });
  assert.deepEqual(await docs.locator("th").allTextContents(), ["step", "owner"]);
  assert.deepEqual(await docs.locator("tbody tr").count(), 2);
  assert.equal(await docs.locator('input[type="checkbox"]').count(), 2, "GFM task list");

  // Raw HTML is not HTML: no <script>, no <img onerror>; the javascript: link goes nowhere.
  assert.equal(await docs.locator("script").count(), 0);
  assert.equal(await docs.locator("img").count(), 1, "only the Markdown image");
  assert.equal(await docs.locator("[onerror]").count(), 0);
  const bad = docs.getByText("click me");
  assert.equal(await bad.getAttribute("href"), null, "the javascript: link has no href left");
  const pages = s.page.context().pages().length;
  await bad.click();
  await s.page.waitForTimeout(300);
  assert.equal(await pwned(), null, "nothing in the docs ran");
  assert.equal(s.page.url(), `${s.server.base}/dags/docs_demo?tab=details`, "the page stayed");
  assert.equal(s.page.context().pages().length, pages, "and no tab opened");

  // Dark mode: the docs follow the theme (text light on the dark card).
  await s.page.getByLabel("Theme").selectOption("dark");
  const color = await docs.evaluate((el) => getComputedStyle(el).color.match(/\d+/g)!.map(Number));
  assert.ok(color[0]! > 180, `light text in dark mode (${color.join(",")})`);
  await s.page.getByLabel("Theme").selectOption("light");
  await s.page.getByRole("region", { name: "DAG details" }).screenshot({
    path: join(SCREENSHOTS, "dag-docs.png"),
  });
});

test(
  "a task's docMd renders in the graph's panel and on its task instance page",
  { skip: missing },
  async () => {
    await s.page.goto(`${s.server.base}/dags/docs_demo?tab=graph&task=load`);
    const panel = s.page.getByRole("complementary", { name: "Task details" });
    const docs = panel.getByRole("region", { name: "Documentation of load" });
    await docs.getByRole("heading", { level: 2, name: "Load step" }).waitFor();
    assert.equal(await docs.locator("code").textContent(), "facts");
    assert.equal(
      await docs.getByRole("link", { name: "the schema" }).getAttribute("href"),
      "https://example.com/schema",
    );

    const made = await s.server.apiSend("POST", "/api/v2/dags/docs_demo/dagRuns", { logical_date: null });
    assert.equal(made.status, 200, JSON.stringify(made.body));
    const runId: string = made.body.dag_run_id;
    await eventually(
      () => s.server.apiGet(`/api/v2/dags/docs_demo/dagRuns/${encodeURIComponent(runId)}/taskInstances/load`),
      30_000,
      "the task instance exists",
    );
    await s.page.goto(`${s.server.base}/dags/docs_demo/runs/${encodeURIComponent(runId)}/tasks/load`);
    const tiDocs = s.page.getByRole("region", { name: "Task docs" });
    await tiDocs.getByRole("heading", { level: 2, name: "Load step" }).waitFor();
    assert.equal(await tiDocs.getByRole("link", { name: "the schema" }).getAttribute("target"), "_blank");
  },
);
