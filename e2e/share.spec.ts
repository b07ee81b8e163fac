import { expect, test, type Browser, type Page } from "@playwright/test";
import type { WorkflowDocument } from "@/lib/workflow";
import { RunPage } from "./editor-page";

const SAVED_URL = /\/w\/[0-9a-f-]{36}$/;

/** Opens a template, saves it, and waits for its own page (the first save moves there). */
async function savedWorkflow(page: Page, template: string): Promise<RunPage> {
  const editor = new RunPage(page);
  await editor.open(template);
  await page.getByTestId("save").click();
  await expect(page).toHaveURL(SAVED_URL);
  await expect(page.getByTestId("save-state")).toHaveText("Saved · v1");
  return editor;
}

/** Creates a share link for the saved version and returns its URL. */
async function share(page: Page, { allowRun = false } = {}): Promise<string> {
  await page.getByTestId("share").click();
  const dialog = page.getByTestId("share-dialog");
  if (allowRun) await dialog.getByTestId("share-allow-run").check();
  await dialog.getByTestId("share-create").click();
  const url = dialog.getByTestId("share-url-created");
  await expect(url).toHaveValue(/\/s\/[A-Za-z0-9_-]{22}$/);
  return url.inputValue();
}

/** A different person: a fresh browser context has its own identity cookie. */
async function visitor(browser: Browser): Promise<Page> {
  const context = await browser.newContext();
  return context.newPage();
}

test("a shared link opens read-only with the run replayed; the visitor cannot save but can fork, edit and save the fork", async ({ page, browser }) => {
  const owner = await savedWorkflow(page, "routing");
  await owner.run();
  await owner.finished();
  const outputs = (await page.getByTestId("run-outputs").textContent()) ?? "";
  const url = await share(page);

  const guest = await visitor(browser);
  await guest.goto(url);
  await expect(guest.getByTestId("read-only-view")).toBeVisible();
  await expect(guest.getByTestId("view-badge")).toHaveText("Shared · v1 · read-only");
  await expect(guest.locator(".react-flow__node")).toHaveCount(7);
  // The latest run, replayed: the same outputs, the same node states.
  await expect(guest.getByTestId("run-status")).toHaveText("succeeded");
  await expect(guest.getByTestId("run-outputs")).toHaveText(outputs);
  for (const node of ["n_router", "n_story", "n_joke", "n_output"]) {
    const status = await page.getByTestId(`node-status-${node}`).getAttribute("data-status");
    await expect(guest.getByTestId(`node-status-${node}`)).toHaveAttribute("data-status", status!);
  }

  // Read-only: no save, no palette, every setting disabled.
  await expect(guest.getByTestId("save")).toHaveCount(0);
  await expect(guest.getByTestId("palette-llm")).toHaveCount(0);
  await guest.getByTestId("node-n_router").click();
  await expect(guest.getByTestId("node-inspector").getByTestId("config-label")).toBeDisabled();

  // Export gives the shared document.
  const download = guest.waitForEvent("download");
  await guest.getByTestId("export").click();
  let text = "";
  for await (const chunk of await (await download).createReadStream()) text += chunk;
  expect((JSON.parse(text) as WorkflowDocument).nodes).toHaveLength(7);

  // Fork: a copy of the visitor's own, editable and saveable.
  await guest.getByTestId("fork").click();
  await expect(guest).toHaveURL(SAVED_URL);
  await expect(guest.getByTestId("save-state")).toHaveText("Saved · v1");
  await expect(guest.getByTestId("workflow-name")).toHaveValue("Routing (copy)");
  await guest.getByTestId("workflow-name").fill("My own router");
  await guest.getByTestId("save").click();
  await expect(guest.getByTestId("save-state")).toHaveText("Saved · v2");
  // The owner's workflow is untouched.
  await page.reload();
  await expect(page.getByTestId("workflow-name")).toHaveValue("Routing");
  await expect(page.getByTestId("save-state")).toHaveText("Saved · v1");
});

test("a replay plays at recorded speed, pauses, scrubs back to the start and jumps to the end", async ({ page, browser }) => {
  const owner = await savedWorkflow(page, "prompt-chaining");
  await owner.run();
  await owner.finished();
  const url = await share(page);

  const guest = await visitor(browser);
  // The page brings the first events (TRELLIS_REPLAY_PAGE_EVENTS is small here); the rest load in pages.
  const morePages = guest.waitForResponse((response) => /\/api\/runs\/[0-9a-f-]{36}\/events\?via=link/.test(response.url()) && response.ok());
  await guest.goto(url);
  await morePages;
  await expect(guest.getByTestId("run-status")).toHaveText("succeeded");
  await guest.getByTestId("replay-play").click();
  await expect(guest.getByTestId("run-status")).toHaveText("running");
  await expect(guest.getByTestId("replay-pause")).toBeVisible();
  await guest.getByTestId("replay-pause").click();
  const paused = await guest.getByTestId("replay-position").innerText();
  await expect(guest.getByTestId("replay-position")).toHaveText(paused);
  await guest.getByTestId("replay-scrubber").fill("0");
  await expect(guest.getByTestId("node-status-n_joke")).toHaveAttribute("data-status", "queued");
  await guest.getByTestId("replay-end").click();
  await expect(guest.getByTestId("run-status")).toHaveText("succeeded");
  await expect(guest.getByTestId("node-status-n_joke")).toHaveAttribute("data-status", "succeeded");
  // Played through to the end at 4×, it finishes by itself.
  await guest.getByTestId("replay-speed").selectOption("4");
  await guest.getByTestId("replay-play").click();
  await expect(guest.getByTestId("run-status")).toHaveText("running");
  await expect(guest.getByTestId("run-status")).toHaveText("succeeded", { timeout: 20_000 });
});

test("a revoked link stops working and says so", async ({ page, browser }) => {
  await savedWorkflow(page, "evaluator-optimizer");
  const url = await share(page);
  const guest = await visitor(browser);
  await guest.goto(url);
  await expect(guest.getByTestId("read-only-view")).toBeVisible();
  await expect(guest.getByTestId("no-run")).toHaveText("This version has not been run yet.");

  page.once("dialog", (dialog) => void dialog.accept());
  await page.getByTestId("share-revoke").click();
  await expect(page.getByTestId("share-link")).toHaveAttribute("data-revoked", "true");
  const response = await guest.reload();
  expect(response?.status()).toBe(404);
  await expect(guest.getByTestId("not-shared")).toContainText("This workflow is no longer shared");
  await expect(guest.getByTestId("read-only-view")).toHaveCount(0);
});

test("a shared run link replays that run on its canvas, even of an unsaved workflow", async ({ page, browser }) => {
  const editor = new RunPage(page);
  await editor.open("parallelization");
  await editor.run();
  await editor.finished();
  const outputs = (await page.getByTestId("run-outputs").textContent()) ?? "";
  await page.getByTestId("share-run").click();
  const url = await page.getByTestId("share-run-url").inputValue();
  expect(url).toMatch(/\/r\/[A-Za-z0-9_-]{22}$/);

  const guest = await visitor(browser);
  await guest.goto(url);
  await expect(guest.getByTestId("view-badge")).toContainText("Run of");
  await expect(guest.getByTestId("run-status")).toHaveText("succeeded");
  await expect(guest.getByTestId("run-outputs")).toHaveText(outputs);
  // The parallel branches stay visibly parallel in the replayed timeline.
  const replayed = new RunPage(guest);
  const branches = [...(await replayed.spans("timeline-bar-n_joke")), ...(await replayed.spans("timeline-bar-n_story")), ...(await replayed.spans("timeline-bar-n_poem"))];
  expect(branches).toHaveLength(3);
  expect(Math.max(...branches.map((b) => b.start))).toBeLessThan(Math.min(...branches.map((b) => b.end)));

  // Stopping the share takes the link away.
  await page.getByTestId("unshare-run").click();
  await expect(page.getByTestId("share-run-url")).toHaveCount(0);
  const response = await guest.reload();
  expect(response?.status()).toBe(404);
  await expect(guest.getByTestId("not-shared")).toContainText("This run is no longer shared");
});

test("a link that allows runs lets a visitor run the stored version; one that does not shows no Run", async ({ page, browser }) => {
  await savedWorkflow(page, "routing");
  const closed = await share(page);
  await page.getByTestId("share-dialog").getByRole("button", { name: "Close" }).click();
  const open = await share(page, { allowRun: true });

  const guest = await visitor(browser);
  await guest.goto(closed);
  await expect(guest.getByTestId("read-only-view")).toBeVisible();
  await expect(guest.getByTestId("run")).toHaveCount(0);
  await guest.goto(open);
  await guest.getByTestId("run").click();
  await guest.getByTestId("run-start").click();
  await expect(guest.getByTestId("run-status")).toHaveText("succeeded", { timeout: 60_000 });
  await expect(guest.getByTestId("run-outputs")).not.toBeEmpty();
});

test("run history replays a past run; an old version opens read-only and can be restored", async ({ page }) => {
  const editor = await savedWorkflow(page, "routing");
  const id = new URL(page.url()).pathname.split("/").at(-1);
  await editor.run();
  await editor.finished();
  await page.getByTestId("workflow-name").fill("Routing, renamed");
  await page.getByTestId("save").click();
  await expect(page.getByTestId("save-state")).toHaveText("Saved · v2");

  await page.getByTestId("runs").click();
  await expect(page.getByTestId("runs-item")).toHaveCount(1);
  await expect(page.getByTestId("runs-item")).toContainText("succeeded");
  await expect(page.getByTestId("runs-item")).toContainText("v1");
  await page.getByTestId("runs-item").click();
  await expect(page).toHaveURL(new RegExp(`/w/${id}/runs/[0-9a-f-]{36}$`));
  await expect(page.getByTestId("view-badge")).toContainText("Run of v1");
  await expect(page.getByTestId("workflow-title")).toHaveText("Routing");
  await expect(page.getByTestId("run-status")).toHaveText("succeeded");

  await page.getByTestId("back-to-editor").click();
  await page.getByTestId("history").click();
  await page.getByTestId("history-v1").click();
  await page.getByTestId("history-open").click();
  await expect(page).toHaveURL(new RegExp(`/w/${id}/v/1$`));
  await expect(page.getByTestId("view-badge")).toHaveText("Version 1 of 2 · read-only");
  await expect(page.getByTestId("run-status")).toHaveText("succeeded");
  await page.getByTestId("restore-version").click();
  await expect(page).toHaveURL(new RegExp(`/w/${id}$`));
  await expect(page.getByTestId("save-state")).toHaveText("Saved · v3");
  await expect(page.getByTestId("workflow-name")).toHaveValue("Routing");
});

test("the landing page lists workflows with their last run, and renames, duplicates and deletes (after asking)", async ({ page }) => {
  const editor = await savedWorkflow(page, "routing");
  await editor.run();
  await editor.finished();
  await page.goto("/");
  const row = page.getByTestId("my-workflow");
  await expect(row).toHaveCount(1);
  await expect(row.getByTestId("last-run")).toHaveText("● succeeded");

  await row.getByTestId("rename").click();
  await page.getByTestId("rename-input").fill("Ticket triage");
  await page.getByTestId("rename-save").click();
  await expect(page.getByTestId("my-workflow-link")).toHaveText("Ticket triage");

  await page.getByTestId("duplicate").click();
  await expect(page.getByTestId("my-workflow-link")).toHaveText(["Ticket triage (copy)", "Ticket triage"]);

  const copy = page.locator('[data-testid="my-workflow"][data-name="Ticket triage (copy)"]');
  await copy.getByTestId("delete").click();
  await expect(copy.getByTestId("delete-confirm")).toContainText("cannot be undone");
  await copy.getByTestId("delete-no").click();
  await expect(page.getByTestId("my-workflow")).toHaveCount(2);
  await copy.getByTestId("delete").click();
  await copy.getByTestId("delete-yes").click();
  await expect(page.getByTestId("my-workflow-link")).toHaveText(["Ticket triage"]);
  await page.reload();
  await expect(page.getByTestId("my-workflow-link")).toHaveText(["Ticket triage"]);
});
