import { describe, expect, it } from "vitest";
import { GroupedWrites } from "./grouped-writes";

describe("grouped writes", () => {
  it("writes what is asked for in one turn of the event loop as one write, and later asks in the next", async () => {
    const writes: number[][] = [];
    const grouped = new GroupedWrites<number>(async (items) => void writes.push(items));
    await Promise.all([grouped.add(1), grouped.add(2), grouped.add(3)]);
    await grouped.add(4);
    expect(writes).toEqual([[1, 2, 3], [4]]);
  });

  it("splits a large group into writes of at most maxGroup", async () => {
    const writes: number[][] = [];
    const grouped = new GroupedWrites<number>(async (items) => void writes.push(items), 2);
    await Promise.all([1, 2, 3, 4, 5].map((n) => grouped.add(n)));
    expect(writes).toEqual([[1, 2], [3, 4], [5]]);
  });

  it("tries each write alone when a group fails, so only the one refused fails", async () => {
    const writes: number[][] = [];
    const grouped = new GroupedWrites<number>(async (items) => {
      if (items.includes(2)) throw new Error(`refused ${items.join(",")}`);
      writes.push(items);
    });
    const results = await Promise.allSettled([grouped.add(1), grouped.add(2), grouped.add(3)]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect((results[1] as PromiseRejectedResult).reason).toEqual(new Error("refused 2"));
    expect(writes).toEqual([[1], [3]]);
  });
});
