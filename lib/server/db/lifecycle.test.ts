import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { openDatabase } from "./connect";
import { closeDatabase, getDatabase } from "./index";
import { describeDatabase } from "./lifecycle";
import { checkReadiness } from "./readiness";
import { DatabaseLockedError } from "./lock";
import { getRunEvents } from "./queries";
import { tempDir } from "@/testing/temp-dirs";

/** Start-up and shutdown of a server process, with real child processes on one PGlite directory. */

const children: ChildProcess[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) child.kill("SIGKILL");
  vi.unstubAllEnvs();
  await closeDatabase();
});

type Exit = { code: number | null; signal: NodeJS.Signals | null; output: string };

function serverProcess(dataDir: string, env: Record<string, string> = {}) {
  // One process (node with tsx's loader), not the tsx CLI, which would run the script in a child that a kill -9 leaves behind.
  const child = spawn(process.execPath, ["--conditions=react-server", "--import", "tsx", "scripts/faults/hold-database.ts"], {
    env: { ...process.env, TRELLIS_DATA_DIR: dataDir, DATABASE_URL: "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk));
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout!.on("data", () => output.includes("ready") && resolve());
    child.once("exit", () => reject(new Error(`exited before ready: ${output}`)));
  });
  // A process expected to be refused never gets ready: that is not an unhandled failure.
  ready.catch(() => undefined);
  const exited = new Promise<Exit>((resolve) => child.once("exit", (code, signal) => resolve({ code, signal, output })));
  return { child, ready, exited };
}

describe("server process lifecycle", () => {
  it("releases the PGlite lock on SIGTERM, and a second process on a held directory exits non-zero with the reason", async () => {
    const dir = join(tempDir("trellis-life-"), "data");
    const first = serverProcess(dir);
    await first.ready;
    expect(existsSync(`${dir}.lock`)).toBe(true);

    const second = serverProcess(dir);
    const refused = await second.exited;
    expect(refused.code).toBe(1);
    expect(refused.output).toMatch(/^trellis: cannot open the database \(PGlite in .*\): the data directory .* is in use by another Trellis process \(pid \d+\)/m);

    first.child.kill("SIGTERM");
    const stopped = await first.exited;
    expect(stopped.code).toBe(143);
    expect(refused.output).toContain(`(pid ${first.child.pid})`);
    expect(existsSync(`${dir}.lock`)).toBe(false);

    // And a restart right after a kill -9 is not refused.
    const third = serverProcess(dir);
    await third.ready;
    third.child.kill("SIGKILL");
    await third.exited;
    const fourth = serverProcess(dir);
    await fourth.ready;
  }, 60_000);

  it("writes the events its recorders still hold on SIGTERM, before the database closes", async () => {
    const dir = join(tempDir("trellis-life-"), "data");
    const runId = randomUUID();
    const server = serverProcess(dir, { TRELLIS_FAULT_RUN_ID: runId, TRELLIS_FAULT_BUFFERED_EVENTS: "250" });
    await server.ready;
    server.child.kill("SIGTERM");
    expect((await server.exited).code).toBe(143);
    const database = await openDatabase({ dataDir: dir });
    try {
      const events = await getRunEvents(database.db, { owner: "fault-test", runId });
      // All 250 were written (the deltas merged into chunks as they are stored): nothing is missing.
      expect(events?.[0]).toMatchObject({ seq: 0, type: "run-started" });
      expect(events?.at(-1)?.seq).toBe(249);
      expect(events?.flatMap((e) => (e.type === "node-delta" ? [e.text] : [])).join("")).toBe(Array.from({ length: 249 }, (_, i) => `${i + 1} `).join(""));
    } finally {
      await database.close();
    }
  }, 60_000);

  it("does not remember a failed first open: the next call opens the database", async () => {
    const dir = join(tempDir("trellis-life-"), "data");
    const holder = serverProcess(dir);
    await holder.ready;
    vi.stubEnv("TRELLIS_DATA_DIR", dir);
    vi.stubEnv("DATABASE_URL", "");
    await expect(getDatabase()).rejects.toThrow(DatabaseLockedError);
    holder.child.kill("SIGTERM");
    await holder.exited;
    const database = await getDatabase();
    expect(database.kind).toBe("pglite");
  }, 60_000);

  it("is not ready while PostgreSQL is unreachable, and says why", async () => {
    vi.stubEnv("DATABASE_URL", "postgres://trellis:trellis@127.0.0.1:1/nowhere");
    const readiness = await checkReadiness();
    expect(readiness).toMatchObject({ ok: false, reason: expect.stringMatching(/^database unavailable: .*ECONNREFUSED/) });
  });

  it("names the database in log lines without its credentials", () => {
    expect(describeDatabase({ databaseUrl: "postgres://trellis:secret@db.internal:5433/trellis", dataDir: "x" })).toBe("PostgreSQL at db.internal:5433/trellis");
    expect(describeDatabase({ dataDir: ".data/pglite" })).toBe("PGlite in .data/pglite");
  });
});
