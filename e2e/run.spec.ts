import { expect, test, type TestInfo } from "@playwright/test";
import { RunPage } from "./editor-page";

async function shot(run: RunPage, testInfo: TestInfo, name: string) {
  const path = testInfo.outputPath(`${name}.png`);
  await run.page.screenshot({ path });
  await testInfo.attach(name, { path, contentType: "image/png" });
}

test("prompt chaining runs to success, text streaming inside the node while it runs", async ({ page }, testInfo) => {
  const run = new RunPage(page);
  await run.open("prompt-chaining");
  await run.run({ topic: "penguins" });
  // The same DOM snapshot shows the node still running and text already inside it.
  await page.waitForFunction(() => {
    const status = document.querySelector<HTMLElement>("[data-testid=node-status-n_joke]")?.dataset.status;
    const text = document.querySelector("[data-testid=node-output-n_joke]")?.textContent ?? "";
    return status === "running" && text.length > 3;
  });
  await shot(run, testInfo, "prompt-chaining-running");
  await run.finished();
  await expect(run.output("n_joke")).toContainText("penguins");
  await expect(page.getByTestId("run-output-joke")).toContainText("penguins");
  await shot(run, testInfo, "prompt-chaining-finished");
});

test("parallelization runs its three branches concurrently: their timeline bars overlap", async ({ page }, testInfo) => {
  const run = new RunPage(page);
  await run.open("parallelization");
  await run.run();
  await expect(run.status("n_story")).toHaveAttribute("data-status", "running");
  await shot(run, testInfo, "parallelization-running");
  await run.finished();
  const bars = [...(await run.spans("timeline-bar-n_joke")), ...(await run.spans("timeline-bar-n_story")), ...(await run.spans("timeline-bar-n_poem"))];
  expect(bars).toHaveLength(3);
  expect(Math.max(...bars.map((b) => b.start))).toBeLessThan(Math.min(...bars.map((b) => b.end)));
  await expect(page.getByTestId("run-output-combined_output")).toContainText("STORY:");
  await shot(run, testInfo, "parallelization-finished");
});

test("routing takes one branch and greys the two others", async ({ page }, testInfo) => {
  const run = new RunPage(page);
  await run.open("routing");
  await run.run({ input: "Please write a poem about the sea" });
  await shot(run, testInfo, "routing-running");
  await run.finished();
  await expect(run.status("n_poem")).toHaveAttribute("data-status", "succeeded");
  for (const skipped of ["n_story", "n_joke"]) {
    await expect(run.status(skipped)).toHaveAttribute("data-status", "skipped");
    await expect(run.node(skipped)).toHaveAttribute("data-run-status", "skipped");
  }
  await expect(page.getByTestId("edge-e_router_story")).toHaveAttribute("data-run", "dead");
  await expect(page.getByTestId("edge-e_router_joke")).toHaveAttribute("data-run", "dead");
  await expect(page.getByTestId("edge-e_router_poem")).toHaveAttribute("data-run", "taken");
  await expect(page.getByTestId("run-output-decision")).toHaveText("poem");
  await shot(run, testInfo, "routing-finished");
  // The run panel resizes from its top edge.
  const panel = page.getByTestId("run-panel");
  const before = (await panel.boundingBox())!.height;
  const handle = (await page.getByTestId("run-panel-resize").boundingBox())!;
  await page.mouse.move(handle.x + 200, handle.y + 2);
  await page.mouse.down();
  await page.mouse.move(handle.x + 200, handle.y - 120, { steps: 4 });
  await page.mouse.up();
  expect((await panel.boundingBox())!.height).toBeGreaterThan(before + 100);
});

test("orchestrator-worker shows one live instance per planned section and joins the report with blank lines", async ({ page }, testInfo) => {
  const run = new RunPage(page);
  await run.open("orchestrator-worker");
  await run.run({ topic: "tidal energy" });
  await expect(page.getByTestId("node-instances-n_write")).toBeVisible({ timeout: 30_000 });
  await shot(run, testInfo, "orchestrator-worker-running");
  await run.finished();
  const instances = await page.locator("[data-testid^=instance-n_write-]").count();
  expect(instances).toBeGreaterThanOrEqual(3);
  await expect(page.getByTestId("node-instances-count-n_write")).toHaveText(`${instances} of ${instances} done`);
  expect(await run.spans("timeline-bar-n_write-")).toHaveLength(instances);
  // Rendered as markdown: a section glued to the previous one ("…deployment.## Next") would not become a heading.
  const report = page.getByTestId("run-output-final_report");
  await expect(report.locator("h2")).toHaveCount(instances);
  const names = await page.locator("[data-testid^=instance-n_write-] button span.font-medium").allInnerTexts();
  await expect(report.locator("h2")).toHaveText(names);
  // Clicking an instance shows its full output.
  await page.getByTestId("instance-n_write-0").getByRole("button").click();
  await expect(page.getByTestId("instance-text-n_write-0").locator("h2")).toHaveText(names[0]);
  await shot(run, testInfo, "orchestrator-worker-finished");
});

test("evaluator-optimizer loops: at least two iterations, the loop edge counts its passes", async ({ page }, testInfo) => {
  const run = new RunPage(page);
  await run.open("evaluator-optimizer");
  await run.run({ topic: "owls" });
  await shot(run, testInfo, "evaluator-optimizer-running");
  await run.finished();
  await expect(page.getByTestId("node-iteration-n_joke")).toHaveText("iteration 2");
  await expect(page.getByTestId("loop-edge-e_grade_revise")).toHaveText("loop · 1×");
  await expect(page.getByTestId("run-output-funny_or_not")).toHaveText("pass");
  expect(await run.spans("timeline-bar-n_joke")).toHaveLength(2);
  await shot(run, testInfo, "evaluator-optimizer-finished");
});

test("cancel mid-run ends the run cancelled and keeps the partial text", async ({ page }) => {
  const run = new RunPage(page);
  await run.open("parallelization");
  await run.run();
  await expect(run.output("n_story")).not.toBeEmpty();
  // Measured in the page (click → "cancelled" shown), not by the test's polling.
  await page.evaluate(() => {
    const w = window as unknown as { __clicked?: number; __cancelled?: number };
    document.querySelector("[data-testid=cancel-run]")!.addEventListener("click", () => (w.__clicked = performance.now()), { capture: true });
    const status = document.querySelector("[data-testid=run-status]")!;
    new MutationObserver(() => {
      if (status.textContent === "cancelled") w.__cancelled ??= performance.now();
    }).observe(status, { childList: true, characterData: true, subtree: true });
  });
  await page.getByTestId("cancel-run").click();
  await run.finished("cancelled");
  const elapsed = await page.evaluate(() => {
    const w = window as unknown as { __clicked: number; __cancelled: number };
    return w.__cancelled - w.__clicked;
  });
  expect(elapsed).toBeLessThan(1_000);
  await expect(run.status("n_story")).toHaveAttribute("data-status", "cancelled");
  await expect(run.output("n_story")).not.toBeEmpty();
  await expect(page.getByTestId("run")).toBeEnabled();
});

test("an injected provider failure marks the node failed with its message and the run failed", async ({ page }) => {
  const run = new RunPage(page);
  await run.open("evaluator-optimizer");
  await run.select("n_joke");
  await page.getByTestId("node-inspector").getByTestId("config-prompt").fill("FAIL-INJECTED Write a joke about {{topic}}");
  await run.run();
  await run.finished("failed");
  await expect(run.status("n_joke")).toHaveAttribute("data-status", "failed");
  await expect(page.getByTestId("node-error-n_joke")).toContainText("HTTP 500");
  await expect(page.getByTestId("run-error")).toContainText('node "Generate joke" failed');
  // The error links to its node.
  await page.getByTestId("canvas").click({ position: { x: 20, y: 20 } });
  await page.getByTestId("run-error").getByRole("button").first().click();
  await expect(page.getByTestId("node-inspector")).toContainText("n_joke");
});

test("a model the server lacks fails before any call, with one click to run on the demo model", async ({ page }) => {
  const run = new RunPage(page);
  await run.open("routing");
  const text = JSON.parse(await run.exportText());
  text.settings.defaultModel = "openai:gpt-4o-mini";
  await run.importFile("openai.json", JSON.stringify(text));
  await run.run();
  await run.finished("failed");
  await expect(page.getByTestId("run-error")).toContainText('model "openai:gpt-4o-mini" is not configured');
  await expect(run.status("n_router")).toHaveAttribute("data-status", "queued");
  await expect(page.getByTestId("run-model")).toHaveText("model openai:gpt-4o-mini");
  // The workflow's model stays chosen in its picker, marked, in words that fit the inspector.
  await expect(page.getByTestId("workflow-inspector").getByTestId("model-picker").locator("option:checked")).toHaveText("openai:gpt-4o-mini (not configured)");
  // Refused before it started, the run has no record: nothing to share.
  await expect(page.getByTestId("share-run")).toHaveCount(0);
  await page.getByTestId("run-with-demo").click();
  await run.finished("succeeded");
  await expect(page.getByTestId("share-run")).toBeVisible();
  // The run names the model it ran on, not the document's (which is unchanged).
  await expect(page.getByTestId("run-model")).toHaveText("model demo:default (offline demo model)");
});

test("outputs render as markdown without raw HTML or remote images", async ({ page }) => {
  const run = new RunPage(page);
  await run.open("evaluator-optimizer");
  await run.select("n_output");
  await page.getByTestId("output-keys").getByLabel("topic", { exact: true }).check();
  await run.run({ topic: '<img src="http://example.invalid/x.png" onerror="alert(1)"> **bold owls** <script>alert(2)</script>' });
  await run.finished();
  const topic = page.getByTestId("run-output-topic");
  await expect(topic.locator("strong")).toHaveText("bold owls");
  await expect(topic.locator("img, script")).toHaveCount(0);
  await expect(page.locator("img")).toHaveCount(0);
});

test("a workflow with issues does not run", async ({ page }) => {
  const run = new RunPage(page);
  await run.open("parallelization");
  await page.getByTestId("palette-llm").click();
  await page.getByTestId("run").click();
  await expect(page.getByTestId("notice")).toContainText("before running");
  await expect(page.getByTestId("run-dialog")).toHaveCount(0);
  await expect(page.getByTestId("run-panel")).toHaveCount(0);
});

test("Esc cancels a running run; Ctrl/Cmd+Enter starts one", async ({ page }) => {
  const run = new RunPage(page);
  await run.open("parallelization");
  await page.getByTestId("canvas").click({ position: { x: 20, y: 20 } });
  await page.keyboard.press("ControlOrMeta+Enter");
  await page.getByTestId("run-start").click();
  await expect(run.output("n_poem")).not.toBeEmpty();
  await page.keyboard.press("Escape");
  await run.finished("cancelled");
});

test("hiding the page (closing the tab) cancels its run on the server", async ({ page }) => {
  const run = new RunPage(page);
  await run.open("orchestrator-worker");
  await run.run();
  await expect(run.status("n_plan")).toHaveAttribute("data-status", "running");
  const cancel = page.waitForResponse((response) => response.url().endsWith("/api/runs/cancel"));
  // What the browser fires when a tab closes; the page stays open here so the result can be read.
  await page.evaluate(() => window.dispatchEvent(new PageTransitionEvent("pagehide")));
  expect(await (await cancel).json()).toEqual({ ok: true, data: { cancelled: true } });
  await run.finished("cancelled");
});

test("a run request the server refuses outright ends the run with the server's reason", async ({ page }) => {
  const run = new RunPage(page);
  await run.open("routing");
  // What a proxy in front of the server, or the route's own size check, answers: a status and a JSON reason, no events.
  await page.route("**/api/runs", (route) =>
    route.fulfill({ status: 413, contentType: "application/json", body: JSON.stringify({ ok: false, error: { code: "too-large", message: "the run request is larger than 16,000,000 bytes, the limit" } }) }),
  );
  await run.run();
  await run.finished("failed");
  await expect(page.getByTestId("run-error")).toHaveText(/The server refused the run \(413\): the run request is larger than 16,000,000 bytes, the limit\./);
  await expect(page.getByTestId("run")).toBeEnabled();
  await expect(page.getByTestId("share-run")).toHaveCount(0);
});

test("a lost connection ends the run visibly as failed, never a spinner forever", async ({ page }) => {
  const run = new RunPage(page);
  await run.open("routing");
  // The run's request to the run route: dropped on the floor.
  await page.route("**/api/runs", (route) => route.abort("connectionreset"));
  await run.run();
  await run.finished("failed");
  await expect(page.getByTestId("run-error")).toContainText("connection to the server was lost");
  await expect(page.getByTestId("run")).toBeEnabled();
});
