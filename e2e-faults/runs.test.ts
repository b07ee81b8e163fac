import { execFileSync, spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { serializeDocument, type RunEvent, type RunEventOf, type WorkflowDocument } from "@/lib/workflow";
import { ActionClient } from "./client";
import { chain, finished, follow, PACE, started, template, until } from "./runs";
import { APP_DIR, isRoot, newDataDir, startServer, stopAll, type Server } from "./server";
import { tempDir } from "../testing/temp-dirs";

/**
 * Runs under faults, on the production build, driven over HTTP like the browser drives them:
 * the server killed (-9 and SIGTERM) mid-run, the browser leaving during a hung call or a
 * backoff, and (in postgres.test.ts and here) the database going away or filling up mid-run.
 */

afterEach(stopAll);

async function server(dataDir: string, env: Record<string, string> = {}): Promise<{ server: Server; client: ActionClient }> {
  const started = await startServer({ env: { TRELLIS_DATA_DIR: dataDir, ...PACE, ...env } });
  await started.ready();
  return { server: started, client: new ActionClient(started.url, APP_DIR) };
}

/** The same browser (its cookie) coming back to another server: a restart. */
const sameBrowser = (client: ActionClient, url: string) => new ActionClient(url, APP_DIR, client.identity);

describe("runs on a production server under faults", () => {
  it("kill -9 mid-run: after a restart (at once) the run is interrupted, completed nodes kept, nothing re-runs, the saved workflow byte-identical", async () => {
    const dataDir = newDataDir();
    const first = await server(dataDir);
    const document = chain({ second: "FAULT-HANG Explain: {{first}}" });
    const saved = await first.client.save(document);
    const stored = await first.client.call<{ ok: true; data: { document: unknown } }>("loadWorkflowAction", [saved.id]);
    const run = await follow(first.client.run(document, { workflowId: saved.id, baseVersion: saved.version }));
    await run.until(started("n_second"));
    // The recorder writes within 100 ms: what happened before the kill is on disk.
    await new Promise((resolve) => setTimeout(resolve, 400));
    await first.server.stop("SIGKILL");
    await run.done;

    const restartAt = Date.now();
    const second = await server(dataDir);
    expect(Date.now() - restartAt).toBeLessThan(10_000);
    const client = sameBrowser(first.client, second.server.url);
    const [listed] = await client.runsOf(saved.id);
    expect(listed).toMatchObject({ status: "interrupted" });
    const events = await client.recordedEvents(listed.id);
    // What completed is kept: the first node's output, the second's start; the record ends where the run was.
    expect(events.find((e) => e.type === "node-finished" && e.nodeId === "n_first")).toMatchObject({ output: { first: expect.any(String) } });
    expect(events.some(started("n_second"))).toBe(true);
    expect(events.some(finished)).toBe(false);
    // Nothing re-runs by itself: a moment later the record and the run list are unchanged.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(await client.recordedEvents(listed.id)).toEqual(events);
    expect(await client.runsOf(saved.id)).toHaveLength(1);
    const reloaded = await client.call<{ ok: true; data: { version: number; document: unknown } }>("loadWorkflowAction", [saved.id]);
    expect(reloaded.data.version).toBe(1);
    expect(JSON.stringify(reloaded.data.document, null, 2)).toBe(JSON.stringify(stored.data.document, null, 2));
    expect(serializeDocument(reloaded.data.document as WorkflowDocument)).toBe(serializeDocument(document));
    expect(second.server.output()).not.toMatch(/uncaughtException|unhandledRejection/i);
  });

  it("SIGTERM mid-run: everything the browser received is in the record (flushed before exit), and the run is interrupted after the restart", async () => {
    const dataDir = newDataDir();
    const first = await server(dataDir);
    const document = chain();
    const saved = await first.client.save(document);
    const run = await follow(first.client.run(document, { workflowId: saved.id, baseVersion: saved.version }));
    await run.until((event) => event.type === "node-delta" && event.nodeId === "n_second");
    // Mid-stream: deltas are arriving every 60 ms, some of them not yet written.
    expect((await first.server.stop("SIGTERM")).code).toBe(143);
    await run.done;
    const seen = run.seen.filter((event) => !finished(event));
    expect(seen.length).toBeGreaterThan(5);

    const second = await server(dataDir);
    const client = sameBrowser(first.client, second.server.url);
    const [listed] = await client.runsOf(saved.id);
    expect(listed.status).toBe("interrupted");
    const recorded = await client.recordedEvents(listed.id);
    // Deltas are stored merged into chunks, everything else as it was sent.
    const bySeq = new Map(recorded.map((event) => [event.seq, event]));
    for (const event of seen.filter((e) => e.type !== "node-delta")) expect(bySeq.get(event.seq)).toEqual(event);
    const text = (events: RunEvent[], nodeId: string) => events.flatMap((e) => (e.type === "node-delta" && e.nodeId === nodeId ? [e.text ?? ""] : [])).join("");
    for (const nodeId of ["n_first", "n_second"]) expect(text(recorded, nodeId).startsWith(text(seen, nodeId))).toBe(true);
    expect(text(seen, "n_second").length).toBeGreaterThan(0);
  });

  for (const [during, marker, evidence] of [
    ["a hung model call", "FAULT-HANG", started("n_second")],
    ["a backoff (Retry-After 25 s)", "FAULT-BACKOFF", (event: RunEvent) => event.type === "node-retry"],
  ] as const) {
    it(`a browser that leaves during ${during} has its run cancelled within 1 s, recorded as client-gone`, async () => {
      const { client } = await server(newDataDir());
      const document = chain({ second: `${marker} Explain: {{first}}` });
      const saved = await client.save(document);
      const leave = new AbortController();
      const run = await follow(client.run(document, { workflowId: saved.id, baseVersion: saved.version, signal: leave.signal }));
      const start = (await run.until((event) => event.type === "run-started")) as RunEventOf<"run-started">;
      await run.until(evidence);
      await new Promise((resolve) => setTimeout(resolve, 300));
      const leftAt = Date.now();
      leave.abort();
      await run.done;
      const [listed] = await until(
        () => client.runsOf(saved.id),
        (runs) => runs[0]?.status !== "running",
      );
      expect(listed.status).toBe("cancelled");
      const events = await client.recordedEvents(listed.id);
      const end = events.find(finished);
      expect(end).toMatchObject({ status: "cancelled", error: { code: "client-gone" } });
      // The run ended (on the server's clock, which is this machine's) within a second of the browser leaving.
      expect(start.at! + end!.t - leftAt).toBeLessThan(1_000);
      expect(events.find((e) => e.type === "node-finished" && e.nodeId === "n_first")).toBeDefined();
    });
  }
});

const hasMount = spawnSync("mount", ["--version"]).status === 0;
const fullDiskSkip = !isRoot ? "not root: cannot mount a small tmpfs" : !hasMount ? "no mount command" : "";
if (fullDiskSkip) console.log(`full-disk fault test skipped: ${fullDiskSkip}`);

describe.skipIf(Boolean(fullDiskSkip))("a full disk (a small tmpfs as the data directory's file system)", () => {
  const mounts: string[] = [];
  afterAll(() => {
    for (const dir of mounts) spawnSync("umount", ["-l", dir]);
  });

  it("loses no record without saying so: a run whose events meet a full disk ends with a not-recorded warning, and the server recovers when space is back", async () => {
    const mountPoint = tempDir("trellis-full-");
    // A fresh data directory takes about 40 MB.
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=64m", "tmpfs", mountPoint]);
    mounts.push(mountPoint);
    const dataDir = join(mountPoint, "pglite");
    // Three nodes streaming at once, every delta its own event: more rows than the free room in the table's pages.
    const { server: running, client } = await server(dataDir, { TRELLIS_DEMO_FIRST_TOKEN_MS: "50", TRELLIS_DEMO_CHUNK_MS: "10", TRELLIS_COALESCE_MS: "0" });
    const document = template("parallelization");
    const saved = await client.save(document);
    const filler = join(mountPoint, "filler");
    const run = await follow(client.run(document, { workflowId: saved.id, baseVersion: saved.version }));
    await run.until((event) => event.type === "node-delta");
    // The disk fills up mid-run: the rest of the run's events cannot be written.
    spawnSync("sh", ["-c", `cat /dev/zero > ${filler}`]);
    // The recorder retries for up to 30 s before it answers that it could not store everything.
    const end = (await run.until(finished, 60_000)) as RunEventOf<"run-finished">;
    expect(end.status).toBe("succeeded");
    // The fault did happen: the server met the full disk while recording.
    expect(running.output()).toMatch(/No space left on device/);
    const [listed] = await client.runsOf(saved.id);
    const recorded = await client.recordedEvents(listed.id);
    const complete = recorded.some(finished) && run.seen.filter((event) => event.type !== "node-delta").every((event) => recorded.some((stored) => stored.seq === event.seq));
    // Either the record is complete, or the browser was told it is not: never a silent loss.
    expect(complete || end.warnings.some((warning) => warning.code === "not-recorded"), `recorded ${recorded.length} of ${run.seen.length} events without a warning`).toBe(true);
    expect(end.warnings.find((warning) => warning.code === "not-recorded")?.message ?? "").toMatch(/^(this run could not be stored completely \(\d+ events lost\)|)/);

    // Room again: the result is stored (retried in the background) and runs are recorded again, without a restart.
    rmSync(filler);
    const stored = await until(
      () => client.runsOf(saved.id),
      (runs) => runs[0]?.status !== "running",
      45_000,
    );
    expect(stored[0].status).toBe("succeeded");
    const again = await follow(client.run(document, { workflowId: saved.id, baseVersion: saved.version }));
    const next = (await again.until(finished)) as RunEventOf<"run-finished">;
    expect(next).toMatchObject({ status: "succeeded", warnings: [] });
    expect(running.child.exitCode).toBeNull();
    expect(running.output()).not.toMatch(/uncaughtException|unhandledRejection/i);
  }, 180_000);
});
