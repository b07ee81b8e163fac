import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { MAX_DOCUMENT_BYTES } from "@/lib/workflow";
import { RUN_REQUEST_BYTES } from "./run-transport";

type ConfigModule = {
  default: { experimental?: { serverActions?: { bodySizeLimit?: unknown }; proxyClientMaxBodySize?: unknown } };
  SERVER_ACTION_BODY_LIMIT: number;
  compressResponses: (env: Record<string, string | undefined>) => boolean;
};
const loadConfig = async () => (await import(pathToFileURL(join(process.cwd(), "next.config.js")).href)) as ConfigModule;

describe("Next.js configuration", () => {
  it("lets a server action carry the largest document the editor imports, at 3 bytes a character", async () => {
    // Imported by URL: next.config.js is plain JavaScript without type declarations.
    const config = (await import(pathToFileURL(join(process.cwd(), "next.config.js")).href)) as ConfigModule;
    expect(config.default.experimental?.serverActions?.bodySizeLimit).toBe(config.SERVER_ACTION_BODY_LIMIT);
    expect(config.SERVER_ACTION_BODY_LIMIT).toBeGreaterThanOrEqual(3 * MAX_DOCUMENT_BYTES);
    // Not without bound either: what a document needs plus room for the run's inputs.
    expect(config.SERVER_ACTION_BODY_LIMIT).toBeLessThanOrEqual(3 * MAX_DOCUMENT_BYTES + 2_000_000);
  });

  it("buffers a whole run request for proxy.ts: a body Next.js truncated for the proxy would reach the route cut short", async () => {
    const config = await loadConfig();
    expect(config.default.experimental?.proxyClientMaxBodySize).toBe(RUN_REQUEST_BYTES + 1);
    expect(RUN_REQUEST_BYTES).toBe(config.SERVER_ACTION_BODY_LIMIT);
  });

  it("gzips responses in team mode only, unless TRELLIS_COMPRESS says otherwise (loopback gains nothing from it)", async () => {
    const { compressResponses } = await loadConfig();
    expect(compressResponses({})).toBe(false);
    expect(compressResponses({ TRELLIS_MODE: "local" })).toBe(false);
    expect(compressResponses({ TRELLIS_MODE: "team" })).toBe(true);
    expect(compressResponses({ TRELLIS_MODE: "team", TRELLIS_COMPRESS: "0" })).toBe(false);
    expect(compressResponses({ TRELLIS_COMPRESS: "1" })).toBe(true);
  });
});
