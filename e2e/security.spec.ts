import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { expect, test } from "@playwright/test";
import { CANARY_KEY } from "../playwright.config";
import { EditorPage, RunPage } from "./editor-page";

/** The server runs (and was built) with a canary provider key: it must never reach the browser. */

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}

test("no page, action response, export or client bundle contains the provider key", async ({ page }) => {
  const bodies: string[] = [];
  page.on("response", async (response) => {
    if (response.request().method() === "POST" || response.url().includes("/editor") || response.url().endsWith("/")) {
      bodies.push(await response.text().catch(() => ""));
    }
  });
  await page.goto("/");
  const run = new RunPage(page);
  await run.open("routing");
  // The model is configured (its ids are listed), its key is not exposed.
  await expect(page.locator("option", { hasText: "google:" }).first()).toBeAttached();
  await run.run();
  await run.finished();
  await page.getByTestId("save").click();
  await expect(page.getByTestId("save-state")).toHaveText("Saved · v1");
  const exported = await new EditorPage(page).exportText();
  const html = await page.content();
  for (const text of [...bodies, exported, html]) expect(text).not.toContain(CANARY_KEY);
  expect(bodies.length).toBeGreaterThan(2);
  const bundle = files(".next/static").filter((path) => readFileSync(path, "utf8").includes(CANARY_KEY));
  expect(bundle).toEqual([]);
});
