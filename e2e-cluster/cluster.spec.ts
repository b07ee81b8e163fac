import { expect, test } from "@playwright/test";
import type { RunEvent } from "@/lib/workflow";
import { holderId } from "./processes";

const webA = process.env.CLUSTER_WEB_A!;
const webB = process.env.CLUSTER_WEB_B!;

test("the editor on web A streams a run that a worker executes; a tab on web B watches it live through web B, its run page follows it, and it cancels it", async ({ context }) => {
  // One browser: its identity cookie (issued by web A) is honoured by web B, which shares the database.
  const a = await context.newPage();
  await a.goto(`${webA}/editor?template=prompt-chaining`);
  await a.getByTestId("save").click();
  await expect(a).toHaveURL(/\/w\/[0-9a-f-]{36}$/);
  const workflowId = /\/w\/([0-9a-f-]{36})$/.exec(a.url())![1];
  // The run id the editor chose, from its request to the run route.
  const started = a.waitForRequest((request) => request.method() === "POST" && new URL(request.url()).pathname === "/api/runs");
  await a.getByTestId("run").click();
  // A topic whose joke the gate sends on to two more model nodes (with "cats" the run ends after the first).
  await a.getByTestId("run-input-topic").fill("a kite");
  await a.getByTestId("run-start").click();
  const runId = (JSON.parse((await started).postData()!) as { runId: string }).runId;
  // Streaming in web A's editor: the node runs and its text grows.
  await expect(a.getByTestId("node-status-n_joke")).toHaveAttribute("data-status", "running");
  await expect(a.getByTestId("node-output-n_joke")).not.toBeEmpty();
  // Executed by a worker, neither web instance.
  expect(process.env.CLUSTER_WORKERS!.split(",")).toContain(await holderId(process.env.CLUSTER_DATABASE_URL!, runId));

  // A tab on web B follows the run's events live through web B (Server-Sent Events, as a reconnecting browser does).
  const b = await context.newPage();
  await b.goto(`${webB}/w/${workflowId}`);
  await b.evaluate((id) => {
    const events: RunEvent[] = [];
    (window as unknown as { received: RunEvent[] }).received = events;
    const source = new EventSource(`/api/runs/${id}/events`);
    source.onmessage = (message) => {
      const event = JSON.parse(message.data as string) as RunEvent;
      events.push(event);
      if (event.type === "run-finished") source.close();
    };
  }, runId);
  const received = () => b.evaluate(() => (window as unknown as { received: RunEvent[] }).received);
  // Deltas keep arriving on web B while web A's editor streams the same run.
  await expect.poll(async () => (await received()).filter((event) => event.type === "node-delta").length).toBeGreaterThan(3);
  const before = (await received()).length;
  await expect.poll(async () => (await received()).length).toBeGreaterThan(before);
  expect((await received()).some((event) => event.type === "run-finished")).toBe(false);

  // The run's page on web B, opened mid-run, follows it live from the run's durable stream.
  const page = await context.newPage();
  await page.goto(`${webB}/w/${workflowId}/runs/${runId}`);
  await expect(page.getByTestId("run-status")).toHaveText("running");

  // Cancel from web B, the way a closing tab does.
  const cancelled = await b.evaluate(async (id) => (await fetch("/api/runs/cancel", { method: "POST", body: id })).json(), runId);
  expect(cancelled).toEqual({ ok: true, data: { cancelled: true } });
  const at = Date.now();
  await expect(a.getByTestId("run-status")).toHaveText("cancelled", { timeout: 2_000 });
  expect(Date.now() - at).toBeLessThan(2_000);
  await expect.poll(async () => (await received()).at(-1)).toMatchObject({ type: "run-finished", status: "cancelled" });
  // The open run page saw the ending without a reload.
  await expect(page.getByTestId("run-status")).toHaveText("cancelled");
  // Both tabs saw one stream: web B's events are web A's run, numbered without gaps.
  const events = await received();
  expect(events.map((event) => event.seq)).toEqual(events.map((_, index) => index));
  // The run's page on web B shows the run as it was recorded: cancelled.
  await b.goto(`${webB}/w/${workflowId}/runs/${runId}`);
  await expect(b.getByTestId("run-status")).toHaveText("cancelled");
});
