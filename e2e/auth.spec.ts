import { expect, test, type Browser, type BrowserContext, type Page } from "@playwright/test";
import { CANARY_KEY } from "../playwright.config";
import { newDataDir, startServer, type RunningServer } from "./auth-servers";
import { EditorPage, RunPage } from "./editor-page";

/**
 * Team mode against the production build: a browser that used Trellis in local mode, the first
 * account (admin) claiming its workflows, an invitation, a second account that sees none of the
 * first's, sign-out revoking the session, minted session cookies, and no secret in any page of it.
 * The spec starts its own servers on one data directory: local mode first, then team mode.
 */

test.describe.configure({ mode: "serial" });

const TEAM_PORT = 3160;
const LOCAL_PORT = 3161;
const ORIGIN = `http://127.0.0.1:${TEAM_PORT}`;
const AUTH_SECRET = "e2e-team-auth-secret-CANARY-0123456789abcdef";
const PASSWORD = "correct horse battery";

let team: RunningServer;
let localBrowserState: Awaited<ReturnType<BrowserContext["storageState"]>>;
let adminState: Awaited<ReturnType<BrowserContext["storageState"]>>;
let adminWorkflowUrl = "";
let inviteUrl = "";
const bodies: string[] = [];

async function context(browser: Browser, state?: typeof localBrowserState): Promise<{ context: BrowserContext; page: Page }> {
  const created = await browser.newContext({ baseURL: ORIGIN, storageState: state });
  const page = await created.newPage();
  page.on("response", async (response) => bodies.push(await response.text().catch(() => "")));
  return { context: created, page };
}

async function signUp(page: Page, email: string) {
  await page.getByTestId("auth-name").fill(email.split("@")[0]);
  await page.getByTestId("auth-email").fill(email);
  await page.getByTestId("auth-password").fill(PASSWORD);
  await page.getByTestId("auth-submit").click();
}

test.beforeAll(async ({ browser }) => {
  test.setTimeout(180_000);
  const dataDir = newDataDir();
  // The same browser first used Trellis in local mode and saved a workflow there.
  const local = await startServer({ port: LOCAL_PORT, env: { TRELLIS_DATA_DIR: dataDir } });
  const localContext = await browser.newContext({ baseURL: local.url });
  const page = await localContext.newPage();
  await new EditorPage(page).open("routing");
  await page.getByTestId("save").click();
  await expect(page.getByTestId("save-state")).toHaveText("Saved · v1");
  localBrowserState = await localContext.storageState();
  await localContext.close();
  await local.stop();
  team = await startServer({
    port: TEAM_PORT,
    env: {
      TRELLIS_DATA_DIR: dataDir,
      TRELLIS_MODE: "team",
      TRELLIS_ORIGIN: ORIGIN,
      TRELLIS_AUTH_SECRET: AUTH_SECRET,
      GOOGLE_GENERATIVE_AI_API_KEY: CANARY_KEY,
      TRELLIS_DEMO_FIRST_TOKEN_MS: "50",
      TRELLIS_DEMO_CHUNK_MS: "5",
    },
  });
});

test.afterAll(async () => team?.stop());

test("the first account becomes the admin and claims the workflows this browser made in local mode", async ({ browser }) => {
  const { context: admin, page } = await context(browser, localBrowserState);
  await page.goto("/");
  await expect(page).toHaveURL(/\/sign-in$/);
  await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible();
  await page.screenshot({ path: "test-results/auth-sign-in.png" });
  await page.getByRole("link", { name: "create an account" }).click();
  await expect(page).toHaveURL(/\/sign-up$/);
  await signUp(page, "ada@team.example");
  await expect(page.getByTestId("account-email")).toHaveText("ada@team.example");
  await expect(page.getByTestId("account-bar")).toContainText("admin");
  await expect(page.getByTestId("usage-today")).toBeVisible();
  await page.screenshot({ path: "test-results/auth-home-signed-in.png" });
  // The browser's local workflow is offered, and moves into the account.
  await expect(page.getByTestId("claim-offer")).toContainText("1 workflow made before you signed in");
  await page.getByTestId("claim").click();
  await expect(page.getByTestId("claim-offer")).toHaveCount(0);
  await expect(page.getByTestId("my-workflow")).toHaveCount(1);
  adminWorkflowUrl = (await page.getByTestId("my-workflow").getByRole("link").first().getAttribute("href")) ?? "";
  expect(adminWorkflowUrl).toMatch(/^\/w\/[0-9a-f-]{36}$/);
  adminState = await admin.storageState();
  await admin.close();
});

test("an admin invites someone; the link signs up a second account, which sees none of the first's workflows", async ({ browser }) => {
  const { context: admin, page } = await context(browser, adminState);
  await page.goto("/");
  await page.getByTestId("team-link").click();
  await expect(page.getByRole("heading", { name: "Invitations", level: 1 })).toBeVisible();
  await page.getByTestId("invite-email").fill("bob@team.example");
  await page.getByTestId("invite-create").click();
  inviteUrl = await page.getByTestId("invite-url").inputValue();
  expect(inviteUrl).toMatch(new RegExp(`^${ORIGIN}/sign-up\\?invite=[A-Za-z0-9_-]{32}$`));
  await expect(page.getByTestId("invite-row").first()).toHaveAttribute("data-status", "open");
  await page.screenshot({ path: "test-results/auth-invitations.png" });
  await admin.close();

  const { context: guest, page: bob } = await context(browser);
  await bob.goto(inviteUrl);
  await expect(bob.getByRole("heading", { name: "Accept your invitation" })).toBeVisible();
  await bob.screenshot({ path: "test-results/auth-sign-up-invitation.png" });
  // Bound to bob's address: another address cannot use it.
  await signUp(bob, "mallory@team.example");
  await expect(bob.getByTestId("auth-error")).toContainText("invitation");
  await signUp(bob, "bob@team.example");
  await expect(bob.getByTestId("account-email")).toHaveText("bob@team.example");
  await expect(bob.getByTestId("account-bar")).not.toContainText("admin");
  await expect(bob.getByTestId("my-workflow")).toHaveCount(0);
  await expect(bob.getByTestId("team-link")).toHaveCount(0);
  // Neither the first account's workflow nor the team page opens for the second.
  expect((await bob.goto(adminWorkflowUrl))?.status()).toBe(404);
  expect((await bob.goto("/team"))?.status()).toBe(404);
  await guest.close();
});

test("sign-up without an invitation is refused; a used invitation does not work twice", async ({ browser }) => {
  const { context: stranger, page } = await context(browser);
  await page.goto("/sign-up");
  await signUp(page, "eve@elsewhere.example");
  await expect(page.getByTestId("auth-error")).toContainText("invitation");
  await page.goto(inviteUrl);
  await signUp(page, "bob@team.example");
  await expect(page.getByTestId("auth-error")).toBeVisible();
  await stranger.close();
});

test("sign-out ends the session on the server; signing in again works, a wrong password does not", async ({ browser }) => {
  const { context: bob, page } = await context(browser);
  await page.goto("/sign-in");
  await page.getByTestId("auth-email").fill("bob@team.example");
  await page.getByTestId("auth-password").fill("not the password");
  await page.getByTestId("auth-submit").click();
  await expect(page.getByTestId("auth-error")).toHaveText("That e-mail address and password do not match.");
  await page.getByTestId("auth-password").fill(PASSWORD);
  await page.getByTestId("auth-submit").click();
  await expect(page.getByTestId("account-email")).toHaveText("bob@team.example");
  const signedIn = await bob.storageState();
  await page.getByTestId("sign-out").click();
  await expect(page).toHaveURL(/\/sign-in$/);
  await page.goto("/");
  await expect(page).toHaveURL(/\/sign-in$/);
  // The session cookie from before signing out, replayed, opens nothing.
  const { context: replay, page: replayed } = await context(browser, signedIn);
  await replayed.goto("/");
  await expect(replayed).toHaveURL(/\/sign-in$/);
  await Promise.all([bob.close(), replay.close()]);
});

test("minted session and identity cookies are no session: every page but sign-in and shared links sends to sign in", async ({ browser }) => {
  const { context: minted, page } = await context(browser);
  await minted.addCookies([
    { name: "trellis.session_token", value: "minted.c2lnbmF0dXJl", url: ORIGIN },
    { name: "trellis_id", value: "minted-identity-0123456789abcdefghijklmnop", url: ORIGIN },
  ]);
  for (const path of ["/", "/editor", adminWorkflowUrl, "/team"]) {
    await page.goto(path);
    await expect(page, path).toHaveURL(/\/sign-in(\?next=.*)?$/);
  }
  await minted.close();
});

test("a signed-in account runs a workflow; its usage shows; no key or secret reaches any team page or the sign-in flow", async ({ browser }) => {
  const { context: admin, page } = await context(browser, adminState);
  const run = new RunPage(page);
  await run.open("routing");
  await run.run();
  await run.finished();
  await page.goto("/");
  await expect(page.getByTestId("usage-today")).not.toContainText(/^Tokens today0/);
  bodies.push(await page.content());
  await admin.close();
  expect(bodies.length).toBeGreaterThan(20);
  for (const body of bodies) {
    expect(body).not.toContain(CANARY_KEY);
    expect(body).not.toContain(AUTH_SECRET);
  }
});
