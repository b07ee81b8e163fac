import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";

/**
 * Two real server processes on one PostgreSQL: a live run stays `running` for everyone while its
 * process beats, and becomes `interrupted` only after that process has been silent for the stale
 * window (here 1.5 s with a 300 ms beat, so the test is quick; 30 s and 10 s in production).
 */

const adminUrl = process.env.TEST_DATABASE_URL;
const BEAT_MS = 300;
const STALE_MS = 1_500;

describe.skipIf(!adminUrl)("processes sharing PostgreSQL", () => {
  const admin = new pg.Pool({ connectionString: adminUrl, max: 1 });
  const name = `trellis_processes_${randomBytes(6).toString("hex")}`;
  const children: ChildProcess[] = [];
  afterAll(async () => {
    for (const child of children) child.kill("SIGKILL");
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  });

  function serverProcess(url: string, env: Record<string, string> = {}) {
    const child = spawn(process.execPath, ["--conditions=react-server", "--import", "tsx", "scripts/faults/hold-database.ts"], {
      env: { ...process.env, DATABASE_URL: url, TRELLIS_HEARTBEAT_MS: String(BEAT_MS), TRELLIS_PROCESS_STALE_MS: String(STALE_MS), ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    children.push(child);
    let output = "";
    child.stderr!.on("data", (chunk: Buffer) => (output += chunk));
    const ready = new Promise<void>((resolve, reject) => {
      child.stdout!.on("data", (chunk: Buffer) => (output += chunk) && output.includes("ready") && resolve());
      child.once("exit", () => reject(new Error(`exited before ready: ${output}`)));
    });
    return { child, ready };
  }

  it("keeps a live run running on every process, and interrupts it only once its process has been silent for the stale window", async () => {
    await admin.query(`CREATE DATABASE ${name}`);
    const url = new URL(adminUrl!);
    url.pathname = `/${name}`;
    const runId = randomUUID();
    const owner = serverProcess(url.toString(), { TRELLIS_FAULT_RUN_ID: runId });
    await owner.ready;
    const peer = serverProcess(url.toString());
    await peer.ready;

    const pool = new pg.Pool({ connectionString: url.toString(), max: 1 });
    const status = async () => (await pool.query<{ status: string }>("SELECT status FROM runs WHERE id = $1", [runId])).rows[0]?.status;
    // Several beats and sweeps by both processes, and a third process starting (which sweeps at once).
    await new Promise((resolve) => setTimeout(resolve, 2 * STALE_MS));
    const late = serverProcess(url.toString());
    await late.ready;
    expect(await status()).toBe("running");

    owner.child.kill("SIGKILL");
    const killedAt = Date.now();
    while ((await status()) === "running" && Date.now() - killedAt < 10 * STALE_MS) await new Promise((resolve) => setTimeout(resolve, 50));
    const after = Date.now() - killedAt;
    expect(await status()).toBe("interrupted");
    // Not before the owner could have been silent for the window (its last beat was at most one beat before the kill)…
    expect(after).toBeGreaterThanOrEqual(STALE_MS - BEAT_MS);
    // …and not much after it: the next sweep of a live peer.
    expect(after).toBeLessThanOrEqual(STALE_MS + 2 * BEAT_MS + 1_000);
    await pool.end();
  }, 60_000);
});
