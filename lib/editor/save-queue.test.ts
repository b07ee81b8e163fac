import { describe, expect, it } from "vitest";
import { SaveQueue } from "./save-queue";

describe("SaveQueue", () => {
  it("runs saves one at a time, in order, telling a save that it waited", async () => {
    const queue = new SaveQueue();
    const log: string[] = [];
    let release!: () => void;
    const first = queue.run(async (queued) => {
      log.push(`first starts (queued: ${queued})`);
      await new Promise<void>((resolve) => (release = resolve));
      log.push("first ends");
      return 1;
    });
    const second = queue.run(async (queued) => {
      log.push(`second starts (queued: ${queued})`);
      return 2;
    });
    await Promise.resolve();
    expect(log).toEqual(["first starts (queued: false)"]);
    release();
    expect(await Promise.all([first, second])).toEqual([1, 2]);
    expect(log).toEqual(["first starts (queued: false)", "first ends", "second starts (queued: true)"]);
    // Nothing in flight any more: the next save does not wait.
    expect(await queue.run(async (queued) => queued)).toBe(false);
  });

  it("goes on after a save that threw (a broken connection)", async () => {
    const queue = new SaveQueue();
    const failed = queue.run(async () => {
      throw new Error("fetch failed");
    });
    const next = queue.run(async (queued) => queued);
    await expect(failed).rejects.toThrow("fetch failed");
    expect(await next).toBe(true);
  });

  it("keeps one id for a new workflow until a save creates it", () => {
    const queue = new SaveQueue();
    const id = queue.idForNew();
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(queue.idForNew()).toBe(id);
    queue.created();
    expect(queue.idForNew()).not.toBe(id);
  });
});
