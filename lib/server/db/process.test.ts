import { describe, expect, it, vi } from "vitest";

describe("process identity", () => {
  it("is one id per Node process, however many times the module is evaluated", async () => {
    const first = (await import("./process")).PROCESS_ID;
    vi.resetModules();
    const second = (await import("./process")).PROCESS_ID;
    vi.resetModules();
    const throughIndex = (await import("./index")).PROCESS_ID;
    expect(first).toMatch(/^[0-9a-f-]{36}$/);
    expect(second).toBe(first);
    expect(throughIndex).toBe(first);
  });
});
