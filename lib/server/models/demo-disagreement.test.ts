import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseDocument, runWorkflow, type AgreementReport, type RunEvent, type RunEventOf, type WorkflowDocument } from "@/lib/workflow";
import { readServerConfig } from "../config";
import { createModels } from ".";

/**
 * The e2e fixture with a deterministic disagreement (e2e/topology.spec.ts): with the offline demo
 * model the storyteller stands apart, and once re-run with the others' answers it comes round.
 * Pinned here so a change to the demo's wording cannot silently take the disagreement away.
 */

const fixture = (() => {
  const parsed = parseDocument(JSON.parse(readFileSync(join(__dirname, "../../../e2e/fixtures/disagreeing-branches.trellis.json"), "utf8")));
  if (!parsed.ok) throw new Error(parsed.issues[0].message);
  return parsed.document;
})();

const withAgreement = (agreement: Record<string, unknown>): WorkflowDocument => ({
  ...fixture,
  nodes: fixture.nodes.map((node) => (node.kind === "aggregate" ? { ...node, config: { ...node.config, agreement: { key: "agreement", ...agreement } } } : node)),
});

async function run(doc: WorkflowDocument) {
  const { port } = createModels(readServerConfig({ NODE_ENV: "test" } as NodeJS.ProcessEnv));
  const events: RunEvent[] = [];
  for await (const event of runWorkflow(doc, { models: port })) events.push(event);
  const finished = events.at(-1) as RunEventOf<"run-finished">;
  return { events, finished, report: finished.state.agreement as AgreementReport };
}

describe("the disagreeing-branches fixture with the demo model", () => {
  it("disagrees: the storyteller stands apart", async () => {
    const { finished, report } = await run(fixture);
    expect(finished.status).toBe("succeeded");
    expect(report).toMatchObject({ method: "lexical", outliers: ["narrative"], agrees: false });
    // The verifying step combines; it is not fooled into telling a story by the branches' keys.
    expect(finished.state.answer).toMatch(/^# .*: a synthesis/);
  });

  it("re-runs the storyteller once and then agrees, lexically and by demo:embed", async () => {
    for (const agreement of [{ rerun: {} }, { rerun: { rounds: 2 }, embeddingModel: "demo:embed" }]) {
      const { events, finished, report } = await run(withAgreement(agreement));
      expect(finished.status).toBe("succeeded");
      expect(events.filter((e) => e.type === "branches-rerun")).toEqual([expect.objectContaining({ nodeId: "n_merge", round: 2, keys: ["narrative"], nodes: ["n_story"] })]);
      expect(report.agrees).toBe(true);
      expect(report.rounds).toHaveLength(1);
      expect(report.rounds![0].after!).toBeGreaterThan(report.rounds![0].before! + 0.2);
      expect(report.method).toBe(agreement.embeddingModel ? "embedding" : "lexical");
    }
  });
});
