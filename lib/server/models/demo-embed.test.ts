import { describe, expect, it } from "vitest";
import { cosineSimilarity, type WorkflowDocument } from "@/lib/workflow";
import { readServerConfig } from "../config";
import { createModels, unconfiguredModels } from ".";
import { DEMO_EMBEDDING_DIMENSIONS, demoEmbedding } from "./demo-embed";

/** The offline embedding model and the embedding side of the model port. */

const env = (variables: Record<string, string>) => ({ NODE_ENV: "test", ...variables }) as NodeJS.ProcessEnv;
const modelsFor = (variables: Record<string, string> = {}) => createModels(readServerConfig(env(variables)));

describe("demo:embed", () => {
  it("is deterministic, normalised and 256-dimensional", () => {
    const text = "The Nile flows north through Egypt.";
    const vector = demoEmbedding(text);
    expect(vector).toHaveLength(DEMO_EMBEDDING_DIMENSIONS);
    expect(demoEmbedding(text)).toEqual(vector);
    expect(Math.sqrt(vector.reduce((sum, x) => sum + x * x, 0))).toBeCloseTo(1, 4);
    expect(demoEmbedding("")).toEqual(new Array(DEMO_EMBEDDING_DIMENSIONS).fill(0));
  });

  it("puts similar texts close and unrelated ones apart", () => {
    const nile = demoEmbedding("The Nile is the longest river in Africa and flows north through Egypt.");
    const paraphrase = demoEmbedding("Flowing north through Egypt, the Nile is Africa's longest river.");
    const stems = demoEmbedding("rivers flowing northwards");
    const revenue = demoEmbedding("Quarterly revenue grew because the marketing budget doubled.");
    expect(cosineSimilarity(nile, paraphrase)).toBeGreaterThan(0.7);
    expect(cosineSimilarity(nile, revenue)).toBeLessThan(0.2);
    // Shared stems count for something (character trigrams), less than shared words.
    expect(cosineSimilarity(nile, stems)).toBeGreaterThan(cosineSimilarity(nile, revenue));
  });

  it("answers through the server's model port, one vector per text in order, with the tokens it counted", async () => {
    const { port } = modelsFor();
    const texts = ["a river in Egypt", "quarterly revenue", "a river in Egypt"];
    const answer = await port.embed!("demo:embed", texts, new AbortController().signal);
    // demo:embed counts a token per 4 characters (at least 1) of each text: 4 + 5 + 4.
    expect(answer).toEqual({ embeddings: texts.map(demoEmbedding), usage: { inputTokens: 13, outputTokens: 0 } });
  });

  it("is listed as an embedding model, and the two kinds of model are not interchangeable", async () => {
    const { registry, port } = modelsFor();
    expect(registry.list()).toContainEqual({ id: "demo:embed", provider: "demo", label: expect.any(String), demo: true, embedding: true });
    expect(registry.list().filter((m) => !m.embedding).map((m) => m.id)).toEqual(["demo:default", "demo:fast"]);
    expect(registry.resolve("demo:embed")).toMatchObject({ ok: false, code: "model-not-configured" });
    expect(registry.resolveEmbedding("demo:default")).toMatchObject({ ok: false, message: 'the demo provider has no embedding model "default" (it has embed)' });
    await expect(port.embed!("demo:default", ["x"], new AbortController().signal)).rejects.toMatchObject({ name: "ModelError", code: "not-found" });
  });

  it("offers a provider's default embedding models once it is configured, and its allowlist governs the rest", () => {
    const { registry } = modelsFor({ OPENAI_API_KEY: "sk-test-0123456789abcdef", OPENAI_MODELS: "gpt-4o-mini" });
    expect(registry.resolveEmbedding("openai:text-embedding-3-small").ok).toBe(true);
    expect(registry.resolveEmbedding("openai:text-embedding-ada-002")).toMatchObject({ ok: false, code: "model-not-allowed" });
    expect(registry.resolveEmbedding("anthropic:anything")).toMatchObject({ ok: false, code: "model-not-configured" });
    expect(registry.list().filter((m) => m.embedding).map((m) => m.id)).toEqual(["demo:embed", "openai:text-embedding-3-small", "openai:text-embedding-3-large"]);
    const local = modelsFor({ OPENAI_COMPATIBLE_BASE_URL: "http://127.0.0.1:11434/v1", OPENAI_COMPATIBLE_MODELS: "llama3.2,nomic-embed-text" }).registry;
    expect(local.resolveEmbedding("local:nomic-embed-text").ok).toBe(true);
  });

  it("a cancelled call rejects as aborted", async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(modelsFor().port.embed!("demo:embed", ["x"], controller.signal)).rejects.toMatchObject({ name: "AbortError" });
  });

  it("names an unconfigured embedding model before a run, with its node", () => {
    const doc = {
      format: "trellis.workflow",
      version: 1,
      name: "t",
      inputs: [],
      nodes: [{ id: "j", kind: "aggregate", label: "j", position: { x: 0, y: 0 }, config: { outputKey: "out", agreement: { key: "agreement", embeddingModel: "openai:text-embedding-3-small" } } }],
      edges: [],
    } as unknown as WorkflowDocument;
    expect(unconfiguredModels(doc, modelsFor().registry)).toEqual([expect.objectContaining({ nodeId: "j", model: "openai:text-embedding-3-small", code: "model-not-configured" })]);
    expect(unconfiguredModels(doc, modelsFor({ OPENAI_API_KEY: "sk-test-0123456789abcdef" }).registry)).toEqual([]);
  });
});
