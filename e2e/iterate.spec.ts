import { expect, test, type TestInfo } from "@playwright/test";
import { RunPage } from "./editor-page";

/**
 * Iterating without re-running everything (issue 16): run a template, edit one prompt, Run from
 * here (upstream reused, not called), pin a node, test a node, compare two runs, and leave with
 * the workflow as a TypeScript program.
 */

test.use({ viewport: { width: 1280, height: 720 } });

async function shot(run: RunPage, testInfo: TestInfo, name: string) {
  const path = testInfo.outputPath(`${name}.png`);
  await run.page.screenshot({ path });
  await testInfo.attach(name, { path, contentType: "image/png" });
}

const calls = (run: RunPage) => run.page.getByTestId("run-calls");

test("run, edit a prompt, Run from here, pin, test a node, compare two runs, export TypeScript", async ({ page }, testInfo) => {
  test.setTimeout(180_000);
  const run = new RunPage(page);
  await run.open("parallelization");
  // Saved, so its runs are kept together and can be compared.
  await page.getByTestId("save").click();
  await expect(page).toHaveURL(/\/w\/[0-9a-f-]{36}$/);

  await run.run({ topic: "lighthouses" });
  await run.finished();
  // Three writers, each one model call; the aggregate calls none.
  await expect(calls(run)).toHaveAttribute("data-calls", "3");
  const firstJoke = await run.output("n_joke").textContent();

  // Edit the poem's prompt, then run from the poem only. (The view follows the run: fit it first.)
  await run.fitView();
  await run.select("n_poem");
  await run.fill("config-prompt", "Write a haiku about {{topic}} at night.");
  await page.getByTestId("run-from-n_poem").click();
  await expect(run.status("n_poem")).toHaveAttribute("data-status", "running");
  // While the poem streams, its siblings are already answered from the earlier run.
  await expect(page.getByTestId("node-reused-n_joke")).toBeVisible();
  await expect(page.getByTestId("node-reused-n_story")).toBeVisible();
  await run.finished();
  // One provider call: the poem. The joke and the story were not called again.
  await expect(calls(run)).toHaveAttribute("data-calls", "1");
  await expect(run.output("n_joke")).toHaveText(firstJoke ?? "");
  await expect(page.getByTestId("timeline-reused-n_joke")).toHaveAttribute("title", /Not executed/);
  await expect(page.getByTestId("run-reuse")).toContainText("Write a poem");
  await expect(page.getByTestId("run-output-combined_output")).toContainText("lighthouses");
  await shot(run, testInfo, "run-from-here");

  // An upstream edit makes the reused output stale: the editor says so and offers the earliest change.
  await run.fitView();
  await run.select("n_joke");
  await run.fill("config-prompt", "Write a pun about {{topic}}.");
  await run.fitView();
  await page.getByTestId("run-from-n_poem").click();
  await expect(page.getByTestId("run-from-stale-list")).toContainText("Write a joke");
  await page.getByTestId("run-from-earliest").click();
  await run.finished();
  await expect(calls(run)).toHaveAttribute("data-calls", "2");
  await expect(page.getByTestId("node-reused-n_story")).toBeVisible();

  // Pin the story: marked on the canvas, and the next full run does not call it.
  await run.fitView();
  await run.select("n_story");
  await page.getByTestId("pin-from-run").click();
  await expect(page.getByTestId("node-pinned-n_story")).toBeVisible();
  await expect(page.getByTestId("pinned-value")).not.toBeEmpty();

  // Test the poem alone, with the topic typed in its form.
  await run.select("n_poem");
  await page.getByTestId("test-value-topic").fill("otters");
  await page.getByTestId("test-node").click();
  await expect(page.getByTestId("test-result")).toHaveAttribute("data-status", "succeeded", { timeout: 30_000 });
  await expect(page.getByTestId("test-output")).toContainText("otters");
  // The card shows the result too, apart from the run on the canvas.
  await expect(page.getByTestId("node-test-n_poem")).toHaveAttribute("data-status", "succeeded");
  await expect(page.getByTestId("node-test-output-n_poem")).toContainText("otters");
  await shot(run, testInfo, "test-node");

  // Compare the first run with the run from the poem.
  await page.getByTestId("compare-runs").click();
  const dialog = page.getByTestId("compare-dialog");
  await expect(dialog.getByTestId("compare-view")).toBeVisible();
  const options = await dialog.getByTestId("compare-pick-0").locator("option").allTextContents();
  expect(options.length).toBeGreaterThanOrEqual(3);
  await dialog.getByTestId("compare-pick-0").selectOption({ index: options.length - 1 });
  await dialog.getByTestId("compare-pick-1").selectOption({ index: options.length - 2 });
  await expect(dialog.getByTestId("compare-document")).toContainText("prompt changed");
  await expect(dialog.getByTestId("compare-node-n_poem")).toHaveAttribute("data-same", "false");
  await expect(dialog.getByTestId("compare-diff-n_poem")).toBeVisible();
  await expect(dialog.getByTestId("compare-node-n_joke")).toHaveAttribute("data-same", "true");
  await shot(run, testInfo, "compare-runs");
  await page.keyboard.press("Escape");

  // Leave with the code.
  await page.getByTestId("export-menu").click();
  await expect(page.getByTestId("export-typescript")).toBeVisible();
  await shot(run, testInfo, "export-menu");
  const download = page.waitForEvent("download");
  await page.getByTestId("export-typescript").click();
  const file = await download;
  expect(file.suggestedFilename()).toBe("parallelization.ts");
  let code = "";
  for await (const chunk of await file.createReadStream()) code += chunk;
  expect(code).toContain("export async function runWorkflow");
  expect(code).toContain("Pinned in Trellis");
  expect(code).toContain("npx tsx parallelization.ts --topic");
});
