import { readFileSync } from "node:fs";
import { expect, test } from "@playwright/test";
import { RunPage } from "./editor-page";

/**
 * Topology from the task (issue 14): plan a workflow from a description, run it, take a piece of
 * advice, and see the agreement across parallel branches on the aggregate.
 */

test.use({ viewport: { width: 1280, height: 720 } });

test("plans a workflow from a task, opens it in one undoable step, runs it and shows the merge's agreement", async ({ page }) => {
  const editor = new RunPage(page);
  await page.goto("/");
  await page.getByTestId("new-from-task").click();
  const dialog = page.getByTestId("plan-dialog");
  await expect(dialog).toBeVisible();
  await page.getByTestId("plan-example-1").click();
  await expect(page.getByTestId("plan-task")).toHaveValue("Write a haiku, a limerick and a short story about autumn");
  await page.getByTestId("plan-submit").click();
  await expect(page.getByTestId("plan-explanation")).toHaveText("3 subtasks, width 3, depth 1, coupling 0.00 → parallel: 3 branches at once, then a checked merge");
  await expect(page.getByTestId("plan-subtasks").locator("li")).toHaveCount(3);
  await page.screenshot({ path: "test-results/topology-plan-dialog.png" });

  await page.getByTestId("plan-apply").click();
  await expect(dialog).toHaveCount(0);
  for (const id of ["n_task", "n_haiku", "n_limerick", "n_short_story_about_autumn", "n_results", "n_answer", "n_output"]) await expect(editor.node(id)).toBeVisible();
  await expect(page.getByTestId("validation-state")).toHaveText("Valid");
  await page.screenshot({ path: "test-results/topology-generated-workflow.png" });

  // One step: undo brings back the empty canvas, redo the plan.
  await page.getByTestId("undo").click();
  await expect(editor.nodes()).toHaveCount(0);
  await page.getByTestId("redo").click();
  await expect(editor.node("n_results")).toBeVisible();

  await editor.run();
  await editor.finished("succeeded");
  const agreement = page.getByTestId("agreement-n_results");
  await expect(agreement).toContainText(/Agreement \d\.\d\d across 3 branches/);
  await page.screenshot({ path: "test-results/topology-generated-run.png" });
});

test("advice: selects the nodes it names, previews a verifying step, applies it undoably, and the merge then reports its agreement", async ({ page }) => {
  const editor = new RunPage(page);
  await editor.open("parallelization");
  await page.getByTestId("advice-toggle").click();
  const panel = page.getByTestId("advice-panel");
  await expect(panel).toBeVisible();
  await expect(page.getByTestId("advice-analysis")).toContainText("3 model steps, width 3, depth 1, coupling 0.00 by data dependency → parallel");
  const advice = page.getByTestId("advice-unchecked-merge");
  await expect(advice).toContainText("Parallel results are merged without a check");
  await expect(advice).toContainText("Kim et al.");

  await advice.getByTestId("advice-node-n_joke").click();
  await expect(page.locator('.react-flow__node[data-id="n_joke"]')).toHaveClass(/selected/);

  await advice.getByTestId("advice-preview").click();
  await expect(advice.getByTestId("advice-fix-preview")).toContainText("turn on the agreement check of “Combine”");
  await expect(editor.node("n_verify")).toHaveCount(0);
  await page.screenshot({ path: "test-results/topology-advice-panel.png" });

  await advice.getByTestId("advice-apply").click();
  await expect(editor.node("n_verify")).toBeVisible();
  await expect(page.getByTestId("advice-empty")).toBeVisible();
  await page.getByTestId("undo").click();
  await expect(editor.node("n_verify")).toHaveCount(0);
  await page.getByTestId("redo").click();
  await expect(editor.node("n_verify")).toBeVisible();

  await editor.run();
  await editor.finished("succeeded");
  await expect(page.getByTestId("agreement-n_aggregate")).toContainText(/Agreement \d\.\d\d across 3 branches/);
  await page.screenshot({ path: "test-results/topology-advice-applied-run.png" });
});

test("the merge re-runs the branch that stands apart: the policy set in the inspector, the round on the card, in the run panel and on the timeline", async ({ page }) => {
  const editor = new RunPage(page);
  await editor.open();
  // Three answers to one question; with the demo model the storyteller's stands apart, every time.
  await editor.importFile("disagreeing-branches.trellis.json", readFileSync(new URL("./fixtures/disagreeing-branches.trellis.json", import.meta.url), "utf8"));
  await expect(editor.node("n_merge")).toBeVisible();

  // Without the policy: the score and the outlier, nothing re-run.
  await editor.run();
  await editor.finished("succeeded");
  const agreement = page.getByTestId("agreement-n_merge");
  await expect(agreement).toContainText(/Agreement 0\.\d\d across 3 branches/);
  await expect(agreement).toContainText("Stands apart: Storyteller");
  await expect(agreement).toHaveAttribute("data-agrees", "false");
  await expect(page.getByTestId("run-reruns")).toHaveCount(0);
  await expect(page.locator('[data-testid="timeline-bar-n_story"]')).toHaveCount(1);

  // The policy and the embedding model, from the aggregate's inspector.
  await editor.select("n_merge");
  const inspector = page.getByTestId("node-inspector");
  await inspector.getByTestId("aggregate-rerun").check();
  await expect(inspector.getByTestId("aggregate-rerun-rounds")).toHaveValue("1");
  // Embedding models only: the offline one and the configured provider's, never a language model.
  const options = inspector.getByTestId("aggregate-embedding-model").locator("option");
  await expect(options.first()).toHaveText("Lexical (shared words)");
  await expect(options.filter({ hasText: "demo:embed — offline demo model" })).toHaveCount(1);
  await expect(options.filter({ hasText: "google:gemini-embedding-001" })).toHaveCount(1);
  await expect(options.filter({ hasText: /demo:default|gemini-2\.5/ })).toHaveCount(0);
  await inspector.getByTestId("aggregate-embedding-model").selectOption("demo:embed");
  await expect(page.getByTestId("node-summary-n_merge")).toHaveText("Combine every branch · checks agreement, re-runs outliers");
  await inspector.screenshot({ path: "test-results/topology-rerun-inspector.png" });

  await editor.run();
  await editor.finished("succeeded");
  const round = page.getByTestId("agreement-round-n_merge-2");
  await expect(round).toHaveText(/^Round 2: re-ran Storyteller; agreement 0\.\d\d → (0\.\d\d|1\.00)$/);
  const [before, after] = ((await round.textContent()) ?? "").match(/\d\.\d\d/g)!.map(Number);
  expect(after).toBeGreaterThan(before);
  await expect(agreement).toHaveAttribute("data-agrees", "true");
  await expect(agreement).toContainText("by demo:embed");
  await expect(page.getByTestId("run-rerun-n_merge-2")).toHaveText(`⟲ Combine · round 2: re-ran Storyteller; agreement ${before.toFixed(2)} → ${after.toFixed(2)}`);
  // Only the outlier ran again; the merge gathered twice, the answer was written once.
  await expect(page.locator('[data-testid="timeline-bar-n_story"]')).toHaveCount(2);
  await expect(page.locator('[data-testid="timeline-bar-n_plain"]')).toHaveCount(1);
  await expect(page.locator('[data-testid="timeline-bar-n_merge"]')).toHaveCount(2);
  await expect(page.locator('[data-testid="timeline-bar-n_answer"]')).toHaveCount(1);
  await page.screenshot({ path: "test-results/topology-rerun-run.png" });
  // The card, legible: a larger window with the whole workflow in view.
  await page.setViewportSize({ width: 1920, height: 1200 });
  await editor.fitView();
  await page.screenshot({ path: "test-results/topology-rerun-canvas.png" });
  await editor.node("n_merge").screenshot({ path: "test-results/topology-rerun-card.png" });
});
