import { describe, expect, it } from "vitest";
import { readServerConfig } from "../config";
import { createModels } from ".";

/** The model allowlist is the server's, enforced on every call: the picker only shows it. */

const env = (variables: Record<string, string>) => ({ NODE_ENV: "test", ...variables }) as NodeJS.ProcessEnv;
const registryFor = (variables: Record<string, string>) => createModels(readServerConfig(env(variables))).registry;

describe("model allowlist", () => {
  it("runs only the ids on a provider's *_MODELS list", () => {
    const registry = registryFor({ OPENAI_API_KEY: "sk-test-0123456789abcdef", OPENAI_MODELS: "gpt-4o-mini" });
    expect(registry.resolve("openai:gpt-4o-mini").ok).toBe(true);
    expect(registry.resolve("openai:gpt-4o")).toMatchObject({ ok: false, code: "model-not-allowed" });
    expect(registry.resolve("openai:gpt-4o-mini?x=1")).toMatchObject({ ok: false, code: "model-not-allowed" });
    expect(registry.resolve("openai:gpt-4o?x=1")).toMatchObject({ ok: false, code: "model-not-allowed" });
  });

  it("without a list, runs the default list only until the operator opts in to any model", () => {
    const strict = registryFor({ OPENAI_API_KEY: "sk-test-0123456789abcdef" });
    expect(strict.resolve("openai:gpt-4o-mini").ok).toBe(true);
    expect(strict.resolve("openai:o3-pro")).toMatchObject({ ok: false, code: "model-not-allowed" });
    const open = registryFor({ OPENAI_API_KEY: "sk-test-0123456789abcdef", TRELLIS_ALLOW_ANY_MODEL: "1" });
    expect(open.resolve("openai:o3-pro").ok).toBe(true);
    // Any *model*, never anything that could change the request.
    for (const id of ["openai:gpt-4o?x=1", "openai:../v2/x", "openai:a b", "openai:gpt#frag", "openai:"]) {
      expect(open.resolve(id), id).toMatchObject({ ok: false });
    }
    // A list, once set, wins over the opt-in.
    const listed = registryFor({ OPENAI_API_KEY: "sk-test-0123456789abcdef", OPENAI_MODELS: "gpt-4o-mini", TRELLIS_ALLOW_ANY_MODEL: "1" });
    expect(listed.resolve("openai:o3-pro")).toMatchObject({ ok: false, code: "model-not-allowed" });
  });

  it("refuses any model of an OpenAI-compatible server without a list (and local:anything) unless opted in", () => {
    const registry = registryFor({ OPENAI_COMPATIBLE_BASE_URL: "http://127.0.0.1:11434/v1" });
    expect(registry.resolve("local:anything")).toMatchObject({ ok: false, code: "model-not-allowed" });
    expect(registryFor({ OPENAI_COMPATIBLE_BASE_URL: "http://127.0.0.1:11434/v1", OPENAI_COMPATIBLE_MODELS: "llama3.2" }).resolve("local:anything")).toMatchObject({
      ok: false,
      code: "model-not-allowed",
    });
    expect(registryFor({ OPENAI_COMPATIBLE_BASE_URL: "http://127.0.0.1:11434/v1", TRELLIS_ALLOW_ANY_MODEL: "true" }).resolve("local:anything").ok).toBe(true);
  });

  it("keeps an unconfigured provider and an unknown demo model apart from a refused model", () => {
    const registry = registryFor({});
    expect(registry.resolve("anthropic:claude-sonnet-4-5")).toMatchObject({ ok: false, code: "model-not-configured" });
    expect(registry.resolve("demo:nope")).toMatchObject({ ok: false, code: "model-not-configured" });
    expect(registry.resolve("demo:fast").ok).toBe(true);
  });
});
