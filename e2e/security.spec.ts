import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { expect, test } from "@playwright/test";
import { CANARY_BASE_URL, CANARY_COMPATIBLE_KEY, CANARY_KEY } from "../playwright.config";
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

test("nothing shared carries a key, a base URL or the owner's cookie", async ({ page, browser }) => {
  const run = new RunPage(page);
  await run.open("routing");
  await page.getByTestId("save").click();
  await expect(page).toHaveURL(/\/w\/[0-9a-f-]{36}$/);
  await run.run();
  await run.finished();
  await page.getByTestId("share-run").click();
  const runUrl = await page.getByTestId("share-run-url").inputValue();
  await page.getByTestId("share").click();
  await page.getByTestId("share-create").click();
  const linkUrl = await page.getByTestId("share-url-created").inputValue();
  const ownerCookie = (await page.context().cookies()).find((cookie) => cookie.name === "trellis_id")?.value;
  expect(ownerCookie).toBeTruthy();

  const guestContext = await browser.newContext();
  const guest = await guestContext.newPage();
  const bodies: string[] = [];
  guest.on("response", async (response) => bodies.push(await response.text().catch(() => "")));
  for (const url of [linkUrl, runUrl]) {
    await guest.goto(url);
    await expect(guest.getByTestId("run-status")).toHaveText("succeeded");
    bodies.push(await guest.content());
  }
  // Forking answers through a server action: its response is checked too.
  await guest.getByTestId("fork").click();
  await expect(guest).toHaveURL(/\/w\/[0-9a-f-]{36}$/);
  expect(bodies.length).toBeGreaterThan(4);
  for (const text of bodies) {
    for (const secret of [CANARY_KEY, CANARY_COMPATIBLE_KEY, CANARY_BASE_URL, ownerCookie!]) expect(text).not.toContain(secret);
  }
  const guestCookie = (await guestContext.cookies()).find((cookie) => cookie.name === "trellis_id")?.value;
  expect(guestCookie).not.toBe(ownerCookie);
});
