import { describe, expect, it } from "vitest";
import { POST } from "@/app/api/runs/cancel/route";
import { findTemplate, type RunEvent } from "@/lib/workflow";
import { startRun } from "./runs";

/** The editor's run service: what the streaming server action and the cancel route call. */
describe("run service", () => {
  it("streams a run and cancels it by id through the cancel route", async () => {
    const runId = globalThis.crypto.randomUUID();
    const events: RunEvent[] = [];
    for await (const event of startRun({ runId, document: findTemplate("parallelization")!.json, inputs: { topic: "kites" } })) {
      events.push(event);
      if (event.type === "node-started" && event.nodeId === "n_story") {
        const response = await POST(new Request("http://local/api/runs/cancel", { method: "POST", body: runId }));
        expect(await response.json()).toEqual({ ok: true, data: { cancelled: true } });
      }
    }
    expect(events.at(-1)).toMatchObject({ type: "run-finished", status: "cancelled" });
    const again = await POST(new Request("http://local/api/runs/cancel", { method: "POST", body: runId }));
    expect(await again.json()).toEqual({ ok: true, data: { cancelled: false } });
  });

  it("answers a bad request or document with a failed run event, never a thrown error", async () => {
    const bad: RunEvent[] = [];
    for await (const event of startRun({ runId: "not-a-uuid", document: {}, inputs: {} })) bad.push(event);
    expect(bad.at(-1)).toMatchObject({ type: "run-finished", status: "failed", error: { code: "invalid-request" } });
    const invalid: RunEvent[] = [];
    for await (const event of startRun({ runId: globalThis.crypto.randomUUID(), document: { format: "trellis.workflow", version: 9 }, inputs: {} })) invalid.push(event);
    expect(invalid.at(-1)).toMatchObject({ status: "failed", error: { code: "invalid-document", issues: [{ path: "version" }] } });
    const response = await POST(new Request("http://local/api/runs/cancel", { method: "POST", body: "x" }));
    expect(response.status).toBe(400);
  });

  it("refuses a model the server has not configured before any call", async () => {
    const doc = structuredClone(findTemplate("routing")!.json) as { settings: { defaultModel: string } };
    doc.settings.defaultModel = "anthropic:claude-sonnet-4-5";
    const events: RunEvent[] = [];
    for await (const event of startRun({ runId: globalThis.crypto.randomUUID(), document: doc, inputs: {} })) events.push(event);
    expect(events.map((e) => e.type)).toEqual(["run-started", "run-finished"]);
    expect(events.at(-1)).toMatchObject({ error: { code: "model-not-configured", message: expect.stringMatching(/not configured/) } });
  });
});
