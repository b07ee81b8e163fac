import { randomBytes, randomUUID } from "node:crypto";
import { join } from "node:path";
import { eq } from "drizzle-orm";
import pg from "pg";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { findTemplate, parseDocument, type WorkflowDocument } from "@/lib/workflow";
import { openDatabase } from "./connect";
import { createDataset, createEvaluation, setEvaluationStatus } from "./eval-queries";
import { closeDatabase, getDatabase, PROCESS_ID } from "./index";
import { createWorkflow } from "./queries";
import { evaluations } from "./schema";
import type { Db } from "./connect";
import { tempDir } from "@/testing/temp-dirs";

/**
 * Evaluations left running by a process that is gone are marked `interrupted` by the process's
 * own database life cycle — at open, and with PostgreSQL at every beat — not when a page happens
 * to read them (docs/architecture.md §7.6).
 */

afterEach(async () => {
  vi.unstubAllEnvs();
  await closeDatabase();
});

function template(): WorkflowDocument {
  const parsed = parseDocument(findTemplate("prompt-chaining")!.json);
  if (!parsed.ok) throw new Error("invalid template");
  return parsed.document;
}

/** A running evaluation that `processId` started. */
async function runningEvaluation(db: Db, processId: string): Promise<string> {
  const owner = `heartbeat-${randomUUID()}`;
  const workflow = await createWorkflow(db, { owner, document: template() });
  if (!workflow.ok) throw new Error("workflow not created");
  const dataset = await createDataset(db, { owner, workflowId: workflow.id, dataset: { name: "d", rows: [{ id: "r1", inputs: { topic: "t" } }], assertions: [] } });
  if (!dataset.ok) throw new Error("dataset not created");
  const evaluation = await createEvaluation(db, { owner, workflowId: workflow.id, version: 1, datasetId: dataset.id, datasetVersion: 1, concurrency: 1, processId });
  if (!evaluation.ok) throw new Error("evaluation not created");
  await setEvaluationStatus(db, { id: evaluation.id, status: "running" });
  return evaluation.id;
}

const statusOf = async (db: Db, id: string) => (await db.select({ status: evaluations.status, error: evaluations.error }).from(evaluations).where(eq(evaluations.id, id)))[0];

describe("interrupted evaluations", () => {
  it("with PGlite, opening the database marks the evaluations an earlier process left running", async () => {
    const dataDir = join(tempDir("trellis-beat-"), "pglite");
    const earlier = await openDatabase({ dataDir });
    const id = await runningEvaluation(earlier.db, "a-process-that-stopped");
    await earlier.close();

    vi.stubEnv("TRELLIS_DATA_DIR", dataDir);
    vi.stubEnv("DATABASE_URL", "");
    const { db } = await getDatabase();
    expect(await statusOf(db, id)).toEqual({ status: "interrupted", error: { code: "interrupted", message: expect.stringContaining("the rows it finished are kept") } });
  }, 30_000);

  const adminUrl = process.env.TEST_DATABASE_URL;
  describe.skipIf(!adminUrl)("with PostgreSQL", () => {
    const admin = new pg.Pool({ connectionString: adminUrl, max: 1 });
    const name = `trellis_beat_${randomBytes(6).toString("hex")}`;
    afterAll(async () => {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    });

    it("the heartbeat's sweep marks an evaluation whose process is silent, and leaves this process's own running", async () => {
      await admin.query(`CREATE DATABASE ${name}`);
      const url = new URL(adminUrl!);
      url.pathname = `/${name}`;
      vi.stubEnv("DATABASE_URL", url.toString());
      vi.stubEnv("TRELLIS_HEARTBEAT_MS", "100");
      vi.stubEnv("TRELLIS_PROCESS_STALE_MS", "300");
      const { db } = await getDatabase();
      // Created after the open-time sweep: only a beat can mark it.
      const gone = await runningEvaluation(db, `gone-${randomUUID()}`);
      const mine = await runningEvaluation(db, PROCESS_ID);
      await vi.waitFor(async () => expect((await statusOf(db, gone)).status).toBe("interrupted"), { timeout: 5_000, interval: 50 });
      expect((await statusOf(db, mine)).status).toBe("running");
    }, 30_000);
  });
});
