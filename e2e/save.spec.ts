import { expect, test } from "@playwright/test";
import { EditorPage, RunPage } from "./editor-page";

const SAVED_URL = /\/w\/[0-9a-f-]{36}$/;

test("saves versions, shows unsaved changes, and reopens the workflow after a reload", async ({ page }) => {
  const editor = new EditorPage(page);
  await editor.open("routing");
  await expect(page.getByTestId("save-state")).toHaveText("● Not saved");
  await page.getByTestId("save").click();
  await expect(page).toHaveURL(SAVED_URL);
  await expect(page.getByTestId("save-state")).toHaveText("Saved · v1");
  await page.getByTestId("workflow-name").fill("My router");
  await expect(page.getByTestId("save-state")).toHaveText("● Unsaved changes");
  await page.getByTestId("canvas").click({ position: { x: 20, y: 20 } });
  await page.keyboard.press("ControlOrMeta+s");
  await expect(page.getByTestId("save-state")).toHaveText("Saved · v2");
  await page.reload();
  await expect(page.getByTestId("workflow-name")).toHaveValue("My router");
  await expect(page.getByTestId("save-state")).toHaveText("Saved · v2");
  await expect(editor.nodes()).toHaveCount(7);
  await page.goto("/");
  await expect(page.getByTestId("my-workflows")).toContainText("My router");
});

test("two quick Ctrl+S on a new workflow create one workflow, at version 1", async ({ page }) => {
  const editor = new EditorPage(page);
  await editor.open("prompt-chaining");
  await page.getByTestId("workflow-name").fill("Saved twice, stored once");
  await page.getByTestId("canvas").click({ position: { x: 20, y: 20 } });
  await page.keyboard.press("ControlOrMeta+s");
  await page.keyboard.press("ControlOrMeta+s");
  await expect(page).toHaveURL(SAVED_URL);
  await expect(page.getByTestId("save-state")).toHaveText("Saved · v1");
  await page.goto("/");
  await expect(page.locator('[data-testid="my-workflow"][data-name="Saved twice, stored once"]')).toHaveCount(1);
});

test("two tabs saving on the same version get the conflict choice, never a silent overwrite", async ({ page, context }) => {
  const first = new EditorPage(page);
  await first.open("parallelization");
  await page.getByTestId("save").click();
  await expect(page).toHaveURL(SAVED_URL);
  const url = page.url();

  const second = new EditorPage(await context.newPage());
  await second.page.goto(url);
  await expect(second.page.getByTestId("save-state")).toHaveText("Saved · v1");

  await page.getByTestId("workflow-name").fill("Saved in tab one");
  await page.getByTestId("save").click();
  await expect(page.getByTestId("save-state")).toHaveText("Saved · v2");

  await second.page.getByTestId("workflow-name").fill("Saved in tab two");
  await second.page.getByTestId("save").click();
  await expect(second.page.getByTestId("conflict-dialog")).toBeVisible();
  await second.page.getByTestId("conflict-theirs").click();
  await expect(second.page.getByTestId("workflow-name")).toHaveValue("Saved in tab one");
  await expect(second.page.getByTestId("save-state")).toHaveText("Saved · v2");

  await page.getByTestId("workflow-name").fill("Tab one again");
  await page.getByTestId("save").click();
  await expect(page.getByTestId("save-state")).toHaveText("Saved · v3");
  await second.page.getByTestId("workflow-name").fill("Tab two insists");
  await second.page.getByTestId("save").click();
  await second.page.getByTestId("conflict-mine").click();
  await expect(second.page.getByTestId("save-state")).toHaveText("Saved · v4");

  await page.getByTestId("workflow-name").fill("Tab one forks");
  await page.getByTestId("save").click();
  await page.getByTestId("conflict-copy").click();
  await expect(page.getByTestId("save-state")).toHaveText("Saved · v1");
  await expect(page).not.toHaveURL(url);
  await expect(page.getByTestId("workflow-name")).toHaveValue("Tab one forks (copy)");
});

test("another browser cannot open someone else's workflow", async ({ page, browser }) => {
  const editor = new EditorPage(page);
  await editor.open("routing");
  await page.getByTestId("save").click();
  await expect(page).toHaveURL(SAVED_URL);
  const stranger = await browser.newContext();
  const other = await stranger.newPage();
  const response = await other.goto(page.url());
  expect(response?.status()).toBe(404);
  await stranger.close();
});

test("reloading with unsaved edits asks first, then offers the local draft back", async ({ page }) => {
  const editor = new EditorPage(page);
  await editor.open("evaluator-optimizer");
  await page.getByTestId("save").click();
  await expect(page).toHaveURL(SAVED_URL);
  await expect(page.getByTestId("save-state")).toHaveText("Saved · v1");
  await page.getByTestId("workflow-name").fill("Edited but not saved");
  await expect(page.getByTestId("save-state")).toHaveText("● Unsaved changes");
  const asked = page.waitForEvent("dialog");
  page.once("dialog", (dialog) => void dialog.accept());
  const reload = page.reload();
  expect((await asked).type()).toBe("beforeunload");
  await reload;
  await expect(page.getByTestId("workflow-name")).toHaveValue("Evaluator-optimizer");
  await expect(page.getByTestId("draft-offer")).toBeVisible();
  await page.getByTestId("draft-restore").click();
  await expect(page.getByTestId("workflow-name")).toHaveValue("Edited but not saved");
  await expect(page.getByTestId("save-state")).toHaveText("● Unsaved changes");
  await page.getByTestId("save").click();
  await expect(page.getByTestId("save-state")).toHaveText("Saved · v2");
  await page.reload();
  await expect(page.getByTestId("draft-offer")).toHaveCount(0);
});

test("version history lists versions with summaries, opens one read-only and restores it as the latest", async ({ page }) => {
  const editor = new EditorPage(page);
  await editor.open("routing");
  await page.getByTestId("save").click();
  // The first save moves to the workflow's own page; edit once it is there.
  await expect(page).toHaveURL(SAVED_URL);
  await expect(page.getByTestId("save-state")).toHaveText("Saved · v1");
  await page.getByTestId("workflow-name").fill("Renamed router");
  await page.getByTestId("save").click();
  await expect(page.getByTestId("save-state")).toHaveText("Saved · v2");
  await page.getByTestId("history").click();
  const list = page.getByTestId("history-list");
  await expect(list.locator("li")).toHaveCount(2);
  await expect(page.getByTestId("history-v2")).toContainText("renamed");
  await expect(page.getByTestId("history-v1")).toContainText("first version (7 nodes)");
  await page.getByTestId("history-v1").click();
  await expect(page.getByTestId("history-preview")).toContainText("Routing · v1, read-only");
  await expect(page.getByTestId("workflow-name")).toHaveValue("Renamed router");
  await page.getByTestId("history-restore").click();
  await expect(page.getByTestId("workflow-name")).toHaveValue("Routing");
  await expect(page.getByTestId("save-state")).toHaveText("Saved · v3");
});

test("the first save keeps the same editor: undo history, a run in progress and edits carry over to the workflow's page", async ({ page }) => {
  const editor = new RunPage(page);
  await editor.open("parallelization");
  await page.getByTestId("workflow-name").fill("Kept across the move");
  await editor.run();
  await expect(editor.status("n_joke")).toHaveAttribute("data-status", "running");
  await page.getByTestId("save").click();
  await expect(page).toHaveURL(SAVED_URL);
  await expect(page.getByTestId("save-state")).toHaveText("Saved · v1");
  // The run started before the save goes on in the same canvas and finishes there.
  await editor.finished();
  // The undo history came along: the rename made before saving can be undone.
  await expect(page.getByTestId("undo")).toBeEnabled();
  await page.getByTestId("undo").click();
  await expect(page.getByTestId("workflow-name")).toHaveValue("Parallelization");
  await expect(page.getByTestId("save-state")).toHaveText("● Unsaved changes");
  await expect(page.getByTestId("draft-offer")).toHaveCount(0);
  // A later visit opens what the server has.
  await page.reload();
  await expect(page.getByTestId("workflow-name")).toHaveValue("Kept across the move");
});
