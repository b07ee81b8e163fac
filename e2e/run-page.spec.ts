import { expect, test } from "@playwright/test";
import { RunPage } from "./editor-page";

test("a run's page opened while it runs follows it live to its end", async ({ context }) => {
  const a = await context.newPage();
  const editor = new RunPage(a);
  await editor.open("prompt-chaining");
  await a.getByTestId("save").click();
  await expect(a).toHaveURL(/\/w\/[0-9a-f-]{36}$/);
  const workflowId = /\/w\/([0-9a-f-]{36})$/.exec(a.url())![1];
  // The run id the editor chose, from its request to the run route.
  const started = a.waitForRequest((request) => request.method() === "POST" && new URL(request.url()).pathname === "/api/runs");
  // A topic whose joke the gate sends on to two more model nodes: the run streams for several seconds.
  await editor.run({ topic: "a kite" });
  const runId = (JSON.parse((await started).postData()!) as { runId: string }).runId;
  await expect(editor.status("n_joke")).toHaveAttribute("data-status", "running");

  // Opened mid-run, the run's page shows what was recorded, then keeps up with the run to its end.
  const b = await context.newPage();
  await b.goto(`/w/${workflowId}/runs/${runId}`);
  await expect(b.getByTestId("run-status")).toHaveText("running");
  await expect(b.getByTestId("run-status")).toHaveText("succeeded", { timeout: 60_000 });
  await editor.finished();
  // Without a reload it ends where the editor that ran it ends.
  await expect(b.getByTestId("run-outputs")).toHaveText((await a.getByTestId("run-outputs").textContent())!);
  for (const node of ["n_joke", "n_improve", "n_polish"]) await expect(b.getByTestId(`node-output-${node}`)).toHaveText((await editor.output(node).textContent())!);
});
