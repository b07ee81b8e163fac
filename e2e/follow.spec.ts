import { expect, test, type Page } from "@playwright/test";
import { RunPage } from "./editor-page";

/** The smallest on-screen font size of the streamed text in a running card, in CSS pixels after the canvas's zoom. */
function smallestRunningText(page: Page): Promise<number | null> {
  return page.evaluate(() => {
    let smallest: number | null = null;
    for (const status of document.querySelectorAll<HTMLElement>("[data-testid^=node-status-][data-status=running]")) {
      const id = status.dataset.testid!.slice("node-status-".length);
      const text = document.querySelector<HTMLElement>(`[data-testid="node-output-${id}"]`);
      if (!text || !text.textContent || text.offsetHeight === 0) continue;
      const scale = text.getBoundingClientRect().height / text.offsetHeight;
      const px = parseFloat(getComputedStyle(text).fontSize) * scale;
      smallest = smallest === null ? px : Math.min(smallest, px);
    }
    return smallest;
  });
}

test.use({ viewport: { width: 1280, height: 720 } });

for (const template of ["prompt-chaining", "parallelization", "routing", "orchestrator-worker", "evaluator-optimizer"]) {
  test(`${template}: what streams is readable (≥ 11 px) at 1280×720 without touching the zoom`, async ({ page }, testInfo) => {
    const run = new RunPage(page);
    await run.open(template);
    await run.run();
    await expect(page.getByTestId("follow-run")).toHaveAttribute("aria-pressed", "true");
    // The view frames the running nodes as they start: wait for streamed text at reading size.
    await expect.poll(() => smallestRunningText(page), { timeout: 30_000 }).toBeGreaterThanOrEqual(11);
    const path = testInfo.outputPath(`${template}-following.png`);
    await page.screenshot({ path });
    await testInfo.attach(`${template}-following`, { path, contentType: "image/png" });
    await run.finished();
  });
}

test("panning during a run stops following it; one click turns it back on; a node's output opens large", async ({ page }) => {
  const run = new RunPage(page);
  await run.open("prompt-chaining");
  await run.run();
  await expect(run.status("n_joke")).toHaveAttribute("data-status", "running");
  const pane = page.locator(".react-flow__pane");
  const box = (await pane.boundingBox())!;
  await page.mouse.move(box.x + 40, box.y + box.height - 40);
  await page.mouse.down();
  await page.mouse.move(box.x + 140, box.y + box.height - 90, { steps: 5 });
  await page.mouse.up();
  await expect(page.getByTestId("follow-run")).toHaveAttribute("aria-pressed", "false");
  await page.getByTestId("follow-run").click();
  await expect(page.getByTestId("follow-run")).toHaveAttribute("aria-pressed", "true");
  await page.getByTestId("node-open-output-n_joke").click();
  const large = page.getByTestId("live-output-text-n_joke");
  await expect(large).not.toHaveText("Nothing yet.");
  const size = await large.evaluate((el) => parseFloat(getComputedStyle(el).fontSize));
  expect(size).toBeGreaterThanOrEqual(14);
  await run.finished();
  await expect(large).toContainText(/\w+/);
});
