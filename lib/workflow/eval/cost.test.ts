import { describe, expect, it } from "vitest";
import type { RunEvent } from "../engine/events";
import { DEFAULT_PRICES, estimateCost, loadPriceTable, parsePriceTable, usageByModel } from "./cost";
import { input, workflow } from "../testing/build";

describe("estimateCost", () => {
  it("prices tokens per million by model id; demo models cost nothing", () => {
    const usage = { "openai:gpt-4o": { inputTokens: 2_000_000, outputTokens: 500_000 }, "demo:fast": { inputTokens: 9_999, outputTokens: 9_999 } };
    expect(estimateCost(usage)).toBeCloseTo(2 * 2.5 + 0.5 * 10, 10);
  });

  it("is null, not zero, when a model with tokens has no price; a model without tokens does not matter", () => {
    expect(estimateCost({ "acme:unknown": { inputTokens: 1, outputTokens: 0 } })).toBeNull();
    expect(estimateCost({ "acme:unknown": { inputTokens: 0, outputTokens: 0 } })).toBe(0);
  });

  it("uses a provider's `provider:*` entry for its models without their own", () => {
    expect(estimateCost({ "acme:big": { inputTokens: 1_000_000, outputTokens: 0 } }, { "acme:*": { inputPerMTok: 4, outputPerMTok: 8 } })).toBe(4);
  });
});

describe("price tables", () => {
  it("parsePriceTable overrides the defaults and names what is wrong", () => {
    const parsed = parsePriceTable({ "openai:gpt-4o": { inputPerMTok: 1, outputPerMTok: 2 } });
    expect(parsed.ok && parsed.prices["openai:gpt-4o"]).toEqual({ inputPerMTok: 1, outputPerMTok: 2 });
    expect(parsed.ok && parsed.prices["demo:*"]).toEqual(DEFAULT_PRICES["demo:*"]);
    const negative = parsePriceTable({ "openai:gpt-4o": { inputPerMTok: -1, outputPerMTok: 2 } });
    expect(!negative.ok && negative.message).toMatch(/^"openai:gpt-4o\.inputPerMTok": /);
    const badId = parsePriceTable({ "gpt 4": { inputPerMTok: 1, outputPerMTok: 2 } });
    expect(!badId.ok && badId.message).toMatch(/^"gpt 4": must be a model id like "openai:gpt-4o-mini", or "provider:\*"/);
  });

  it("loadPriceTable reads inline JSON or a file through the caller's reader; empty means the defaults", () => {
    const files: Record<string, string> = { "/etc/prices.json": '{"acme:x":{"inputPerMTok":1,"outputPerMTok":1}}' };
    const read = (path: string) => {
      if (!(path in files)) throw new Error(`ENOENT: no such file ${path}`);
      return files[path];
    };
    expect(loadPriceTable(undefined, read)).toEqual({ ok: true, prices: DEFAULT_PRICES });
    const inline = loadPriceTable(' {"acme:y":{"inputPerMTok":2,"outputPerMTok":2}}', read);
    expect(inline.ok && inline.prices["acme:y"]).toEqual({ inputPerMTok: 2, outputPerMTok: 2 });
    const fromFile = loadPriceTable("/etc/prices.json", read);
    expect(fromFile.ok && fromFile.prices["acme:x"]).toEqual({ inputPerMTok: 1, outputPerMTok: 1 });
    expect(loadPriceTable("/missing.json", read)).toEqual({ ok: false, message: "cannot read the price table /missing.json: ENOENT: no such file /missing.json" });
    const broken = loadPriceTable("{nope", read);
    expect(!broken.ok && broken.message).toMatch(/^the price table is not valid JSON/);
  });
});

describe("usageByModel", () => {
  it("sums each node's own usage under the model it started with, not its instances again", () => {
    const at = { seq: 0, t: 0 };
    const zero = { inputTokens: 0, outputTokens: 0 };
    const events: RunEvent[] = [
      { ...at, type: "node-started", nodeId: "a", iteration: 1, model: "openai:gpt-4o-mini" },
      { ...at, type: "node-finished", nodeId: "a", output: "x", usage: { inputTokens: 10, outputTokens: 20 }, ms: 1, iteration: 1 },
      { ...at, type: "node-started", nodeId: "w", iteration: 1, model: "demo:fast" },
      { ...at, type: "node-started", nodeId: "w", instance: 0, iteration: 1 },
      { ...at, type: "node-finished", nodeId: "w", instance: 0, output: "y", usage: { inputTokens: 3, outputTokens: 4 }, ms: 1, iteration: 1 },
      { ...at, type: "node-finished", nodeId: "w", output: ["y"], usage: { inputTokens: 3, outputTokens: 4 }, ms: 1, iteration: 1 },
      { ...at, type: "node-started", nodeId: "a", iteration: 2, model: "openai:gpt-4o-mini" },
      { ...at, type: "node-finished", nodeId: "a", output: "z", usage: { inputTokens: 1, outputTokens: 2 }, ms: 1, iteration: 2 },
      { ...at, type: "node-started", nodeId: "gate", iteration: 1 },
      { ...at, type: "node-finished", nodeId: "gate", output: {}, usage: zero, ms: 1, iteration: 1 },
    ];
    expect(usageByModel(events)).toEqual({ "openai:gpt-4o-mini": { inputTokens: 11, outputTokens: 22 }, "demo:fast": { inputTokens: 3, outputTokens: 4 } });
  });

  it("puts an aggregate's embedding tokens under its embedding model; tokens of a node with no known model make the cost unknown", () => {
    const at = { seq: 0, t: 0 };
    const events: RunEvent[] = [
      { ...at, type: "node-started", nodeId: "j", iteration: 1 },
      { ...at, type: "node-finished", nodeId: "j", output: "x", usage: { inputTokens: 40, outputTokens: 0 }, ms: 1, iteration: 1 },
    ];
    const document = workflow([input, { id: "j", kind: "aggregate", config: { outputKey: "combined", agreement: { key: "agreement", embeddingModel: "openai:text-embedding-3-small" } } }], ["in->j"]);
    expect(usageByModel(events, document)).toEqual({ "openai:text-embedding-3-small": { inputTokens: 40, outputTokens: 0 } });
    expect(estimateCost(usageByModel(events, document), { "openai:*": { inputPerMTok: 0.02, outputPerMTok: 0 } })).toBeCloseTo(40 * 0.02e-6, 12);
    // Without the document the model is unknown: no price, so no estimate (never a silent zero).
    expect(usageByModel(events)).toEqual({ "unknown:j": { inputTokens: 40, outputTokens: 0 } });
    expect(estimateCost(usageByModel(events))).toBeNull();
  });
});
