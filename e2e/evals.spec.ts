import { expect, test, type Page } from "@playwright/test";
import { RunPage } from "./editor-page";

/**
 * Evaluations (issue 15), as a person uses them: import a dataset (a bad file first), add an
 * assertion, run an evaluation and watch it, open a failing row's run on the canvas, change the
 * workflow, evaluate the new version, compare (one row flips), share the comparison read-only and
 * revoke it.
 */

const SAVED_URL = /\/w\/([0-9a-f-]{36})$/;
const shots = (name: string) => `test-results/evals-${name}.png`;

async function importFile(page: Page, name: string, text: string) {
  await page.getByTestId("dataset-file").setInputFiles({ name, mimeType: name.endsWith(".csv") ? "text/csv" : "application/x-ndjson", buffer: Buffer.from(text) });
}

async function runEvaluation(page: Page, version: number, concurrency: number) {
  await page.getByTestId("tab-dataset").click();
  await page.getByTestId("run-version").selectOption(String(version));
  await page.getByTestId("run-concurrency").fill(String(concurrency));
  await page.getByTestId("run-evaluation").click();
  await expect(page.getByTestId("results")).toBeVisible();
}

async function finishedEvaluation(page: Page) {
  await expect(page.getByTestId("results").getByTestId("eval-status")).toHaveText("succeeded", { timeout: 60_000 });
  await expect(page.getByTestId("result-row")).toHaveCount(3);
}

test("import a dataset, evaluate, open a failing row's run, compare two versions, share the comparison read-only and revoke it", async ({ page, browser }) => {
  test.setTimeout(180_000);
  const editor = new RunPage(page);
  await editor.open("parallelization");
  await page.getByTestId("save").click();
  await expect(page).toHaveURL(SAVED_URL);
  const workflowId = SAVED_URL.exec(page.url())![1];

  await page.getByTestId("evaluate").click();
  await expect(page).toHaveURL(`/w/${workflowId}/evals`);
  await expect(page.getByTestId("evals-page")).toBeVisible();

  // A file that does not fit: every problem named by row and column, and nothing imported.
  await importFile(page, "bad.csv", "topic,colour\napples,red\nbananas,yellow\n");
  const issues = page.getByTestId("import-issues");
  await expect(issues).toBeVisible();
  await expect(issues.getByTestId("import-issue").first()).toContainText('row 1, column "colour"');
  // A JSONL line that is not an object is named by its line.
  await importFile(page, "bad.jsonl", '{"topic":"apples"}\n[1,2]\n');
  await expect(issues.getByTestId("import-issue").first()).toContainText(/(line|row) 2/);
  await expect(page.getByTestId("dataset-list")).toContainText("No dataset yet.");
  await page.screenshot({ path: shots("import-errors"), fullPage: false });

  await importFile(page, "fruit.csv", "topic\napples\nbananas\ncherries\n");
  await expect(page.getByTestId("notice")).toContainText("Imported 3 rows");
  await expect(page.getByTestId("import-issues")).toHaveCount(0);
  await expect(page.getByTestId("dataset-row")).toHaveCount(3);
  await expect(page.getByTestId("cell-1-topic")).toHaveValue("bananas");

  // An assertion the first version fails on every row.
  await page.getByTestId("assertion-add").click();
  const assertion = page.getByTestId("assertion-0");
  await assertion.getByTestId("assertion-key").selectOption("combined_output");
  await assertion.getByTestId("assertion-kind").selectOption("contains");
  await assertion.getByTestId("assertion-value").fill("bananas-approved");
  await page.getByTestId("dataset-save").click();
  await expect(page.getByTestId("dataset-version")).toHaveText("v2");
  await page.screenshot({ path: shots("dataset"), fullPage: false });

  // Run it and watch the progress.
  await runEvaluation(page, 1, 1);
  const progress = page.getByTestId("eval-progress");
  await expect(progress).toBeVisible();
  await expect(progress.getByTestId("progress-counts")).toHaveText(/^[0-2] \/ 3 rows$/);
  await expect(progress.getByTestId("progress-eta")).toHaveText(/left|estimating/);
  await page.screenshot({ path: shots("progress"), fullPage: false });
  await finishedEvaluation(page);
  await expect(page.getByTestId("eval-progress")).toHaveCount(0);
  await expect(page.getByTestId("summary-pass-rate")).toHaveText("0%");
  await expect(page.locator('[data-testid="result-row"][data-pass="false"]')).toHaveCount(3);
  await expect(page.getByTestId("result-row").first().getByTestId("verdict-a1")).toContainText('expected to contain "bananas-approved"');
  await page.screenshot({ path: shots("results"), fullPage: false });

  // One evaluation shared on its own: its summary and rows, read-only, without the runs.
  await page.getByTestId("share-create").click();
  const single = await page.getByTestId("share-url").inputValue();
  const reader = await (await browser.newContext()).newPage();
  await reader.goto(single);
  await expect(reader.getByTestId("shared-title")).toHaveText("Parallelization v1");
  await expect(reader.getByTestId("summary-pass-rate")).toHaveText("0%");
  await expect(reader.getByTestId("result-row")).toHaveCount(3);
  await expect(reader.getByTestId("open-run")).toHaveCount(0);
  await reader.screenshot({ path: shots("shared-single"), fullPage: false });

  // A failing row's run, on the canvas.
  await page.locator('[data-testid="result-row"][data-pass="false"]').first().getByTestId("open-run").click();
  await expect(page).toHaveURL(new RegExp(`/w/${workflowId}/runs/[0-9a-f-]{36}$`));
  await expect(page.getByTestId("read-only-view")).toBeVisible();
  await expect(page.getByTestId("run-status")).toHaveText("succeeded");
  await expect(page.getByTestId("node-status-n_aggregate")).toHaveAttribute("data-status", "succeeded");
  // Back: the same results, open.
  await page.goBack();
  await expect(page.getByTestId("results")).toBeVisible();
  await expect(page.locator('[data-testid="result-row"][data-pass="false"]')).toHaveCount(3);

  // A second version whose combined output names the topic as approved: the bananas row flips.
  await page.goto(`/w/${workflowId}`);
  await editor.select("n_aggregate");
  await page.getByTestId("node-inspector").locator("textarea").first().fill("{{topic}}-approved\n\n{{story}}\n\n{{joke}}\n\n{{poem}}");
  await page.getByTestId("save").click();
  await expect(page.getByTestId("save-state")).toHaveText("Saved · v2");
  await page.getByTestId("evaluate").click();
  await expect(page.getByTestId("evals-page")).toBeVisible();
  await runEvaluation(page, 2, 3);
  await finishedEvaluation(page);
  await expect(page.getByTestId("summary-pass-rate")).toHaveText("33.3%");

  // Compare the two.
  const items = page.getByTestId("evaluation-item");
  await expect(items).toHaveCount(2);
  await items.nth(0).getByTestId("evaluation-pick").check();
  await items.nth(1).getByTestId("evaluation-pick").check();
  await page.getByTestId("compare").click();
  const compared = page.getByTestId("compare-view");
  await expect(compared).toBeVisible();
  await expect(page.getByTestId("compare-title")).toContainText("v1 → ");
  await expect(page.getByTestId("compare-title")).toContainText("v2");
  await expect(compared.locator('[data-testid="compare-row"][data-change="fixed"]')).toHaveCount(1);
  await expect(compared.locator('[data-testid="compare-row"][data-change="fixed"]')).toContainText("bananas");
  await expect(compared.locator('[data-testid="compare-row"][data-change="same-fail"]')).toHaveCount(2);
  await expect(compared.getByTestId("delta-pass-rate")).toHaveText("+33.3 pts");
  await page.screenshot({ path: shots("compare"), fullPage: false });

  // Share it; a fresh browser (another person) sees it read-only.
  await page.getByTestId("share-create").click();
  const url = await page.getByTestId("share-url").inputValue();
  expect(url).toMatch(/\/e\/[A-Za-z0-9_-]{22}$/);
  const guest = await (await browser.newContext({ viewport: { width: 1280, height: 720 } })).newPage();
  await guest.goto(url);
  await expect(guest.getByTestId("shared-evaluation")).toBeVisible();
  await expect(guest.getByTestId("view-badge")).toHaveText("Shared · read-only");
  await expect(guest.locator('[data-testid="compare-row"][data-change="fixed"]')).toContainText("bananas");
  await expect(guest.getByTestId("open-run")).toHaveCount(0);
  await expect(guest.getByTestId("dataset-save")).toHaveCount(0);
  await expect(guest.getByTestId("share-create")).toHaveCount(0);
  // Nothing of the owner's: no workflow id, no run ids.
  const html = await guest.content();
  expect(html).not.toContain(workflowId);
  expect(html).not.toMatch(/runs\/[0-9a-f-]{36}/);
  await guest.screenshot({ path: shots("shared-1280"), fullPage: false });
  // The guest cannot open the owner's evaluations page, nor follow an evaluation's progress; the owner can.
  expect((await guest.goto(`/w/${workflowId}/evals`))?.status()).toBe(404);
  const evaluationId = await items.nth(0).getAttribute("data-evaluation-id");
  expect((await guest.request.get(`/api/evals/${evaluationId}/progress`)).status()).toBe(404);
  const progressStream = await page.request.get(`/api/evals/${evaluationId}/progress`);
  expect(progressStream.headers()["content-type"]).toContain("text/event-stream");
  expect(await progressStream.text()).toMatch(/event: progress\ndata: \{"total":3,"done":3,[^\n]*"status":"succeeded"[^\n]*\n\nevent: end\n/);

  // Revoked: the link opens nothing.
  await page.getByTestId("share-revoke").click();
  await expect(page.getByTestId("share-url")).toHaveCount(0);
  const revoked = await guest.goto(url);
  expect(revoked?.status()).toBe(404);
  await expect(guest.getByTestId("not-shared")).toBeVisible();

  // The same page at a smaller screen stays readable.
  await page.setViewportSize({ width: 1280, height: 720 });
  await page.getByTestId("tab-results").click();
  await page.screenshot({ path: shots("results-1280"), fullPage: false });
});

test("edit a dataset in the grid, export it, and cancel an evaluation keeping its finished rows", async ({ page }) => {
  test.setTimeout(120_000);
  const editor = new RunPage(page);
  await editor.open("prompt-chaining");
  await page.getByTestId("save").click();
  await expect(page).toHaveURL(SAVED_URL);
  // The toolbar with Evaluate still fits a 1280-wide screen: Run stays on it.
  await page.setViewportSize({ width: 1280, height: 720 });
  const run = await page.getByTestId("run").boundingBox();
  expect(run!.x + run!.width).toBeLessThanOrEqual(1280);
  await page.screenshot({ path: shots("editor-toolbar-1280"), clip: { x: 0, y: 0, width: 1280, height: 60 } });
  await page.getByTestId("evaluate").click();
  await expect(page.getByTestId("evals-page")).toBeVisible();

  await importFile(page, "topics.jsonl", ['{"id":"owls","topic":"owls"}', '{"id":"tea","topic":"tea"}'].join("\n"));
  await expect(page.getByTestId("dataset-row")).toHaveCount(2);
  // Edit a cell, add rows, delete one, add an expected column: one save, one new version.
  await page.getByTestId("cell-1-topic").fill("green tea");
  for (let i = 0; i < 4; i++) await page.getByTestId("row-add").click();
  await page.getByTestId("row-delete").nth(5).click();
  for (const [i, topic] of ["maps", "rain", "kites"].entries()) await page.getByTestId(`cell-${i + 2}-topic`).fill(topic);
  await page.getByTestId("expected-key").selectOption("joke");
  await page.getByTestId("expected-add").click();
  await page.getByTestId("cell-0-expected-joke").fill("a joke about owls");
  // A check for the first row only: opened under the row, saved with the rows.
  await expect(page.getByTestId("row-checks").first()).toHaveText("add");
  await page.getByTestId("row-checks").first().click();
  const rowChecks = page.getByTestId("row-assertions");
  await expect(rowChecks).toHaveCount(1);
  await rowChecks.getByTestId("assertion-add").click();
  await rowChecks.getByTestId("assertion-value").fill("owl");
  await page.screenshot({ path: shots("row-checks-1280"), fullPage: false });
  await expect(page.getByTestId("dataset-version")).toHaveText("v1 · unsaved changes");
  await page.getByTestId("dataset-save").click();
  await expect(page.getByTestId("dataset-version")).toHaveText("v2");
  await expect(page.getByTestId("dataset-row")).toHaveCount(5);
  await expect(page.getByTestId("row-checks").first()).toHaveText("1 check");
  await expect(page.getByTestId("row-checks").nth(1)).toHaveText("add");
  await expect(page.getByTestId("row-assertions").getByTestId("assertion-label")).toHaveText("row check 1");
  await expect(page.getByTestId("run-form")).toContainText("5 rows · 0 assertions · 1 row check");
  await page.setViewportSize({ width: 1440, height: 900 });
  await page.screenshot({ path: shots("row-checks-1440"), fullPage: false });
  await page.setViewportSize({ width: 1280, height: 720 });
  await page.screenshot({ path: shots("dataset-1280"), fullPage: false });

  const download = page.waitForEvent("download");
  await page.getByTestId("export-csv").click();
  const file = await download;
  expect(file.suggestedFilename()).toBe("topics.v2.csv");
  let csv = "";
  for await (const chunk of await file.createReadStream()) csv += chunk;
  expect(csv).toContain("green tea");
  expect(csv).toContain("a joke about owls");
  expect(csv.trim().split(/\r?\n/)).toHaveLength(6);

  // One row at a time; cancel once the first has finished.
  await page.getByTestId("run-concurrency").fill("1");
  await page.getByTestId("run-evaluation").click();
  await expect(page.getByTestId("results")).toBeVisible();
  await expect(page.getByTestId("progress-counts")).toHaveText("1 / 5 rows", { timeout: 60_000 });
  await page.getByTestId("eval-cancel").click();
  await expect(page.getByTestId("results").getByTestId("eval-status")).toHaveText("cancelled");
  const kept = await page.getByTestId("result-row").count();
  expect(kept).toBeGreaterThanOrEqual(1);
  expect(kept).toBeLessThan(5);
  // The first row (run first) was checked by its own assertion too; the others have no verdict for it.
  await expect(page.locator('[data-row-id="owls"]').getByTestId("verdict-check-1")).toHaveAttribute("data-pass", /true|false/);
  await expect(page.getByTestId("summary-pass-rate")).toBeVisible();
  await expect(page.getByTestId("evaluation-list").getByTestId("eval-status")).toHaveText("cancelled");
});
