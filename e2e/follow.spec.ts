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

test("zooming during a run stops following it; one click turns it back on; a node's output opens large", async ({ page }) => {
  const run = new RunPage(page);
  // Its workers stream for several seconds: time to pan while the run goes on.
  await run.open("orchestrator-worker");
  await run.run();
  await expect(run.status("n_write")).toHaveAttribute("data-status", "running", { timeout: 30_000 });
  const pane = page.locator(".react-flow__pane");
  const box = (await pane.boundingBox())!;
  // The person zooms out with the wheel, as one does to look around.
  await page.mouse.move(box.x + box.width / 2, box.y + 12);
  await page.mouse.wheel(0, 400);
  await expect(page.getByTestId("follow-run")).toHaveAttribute("aria-pressed", "false");
  await page.getByTestId("follow-run").click();
  await expect(page.getByTestId("follow-run")).toHaveAttribute("aria-pressed", "true");
  await page.getByTestId("node-open-output-n_write").click();
  const large = page.getByTestId("live-output-text-n_write");
  await expect(large).not.toHaveText("Nothing yet.");
  const size = await large.evaluate((el) => parseFloat(getComputedStyle(el).fontSize));
  expect(size).toBeGreaterThanOrEqual(14);
  await run.finished();
  await expect(large).toContainText(/\w+/);
});
