import "server-only";
import { DBOS } from "@dbos-inc/dbos-sdk";
import { sql } from "drizzle-orm";
import type { Db } from "../db/connect";

/** DBOS Transact as cluster mode uses it (docs/cluster.md): where its tables are and which code may resume its workflows. */
export const APPLICATION = "trellis";
/** DBOS's tables live in their own schema of Trellis's database. */
export const SCHEMA = "trellis_dbos";
/** Which code may resume a workflow: bump it when the durable run's or call's steps change. */
export const APPLICATION_VERSION = "trellis-run-3";

/**
 * Everything a workflow's durable stream holds so far, read from inside a step: DBOS's reader is
 * not checkpointed there, and it would wait at the end of a stream still open, so it stops at the
 * count of values written (an empty list for a stream never written).
 */
export async function streamSoFar<T>(db: Db, workflowId: string, key: string): Promise<T[]> {
  const counted = (await db.execute(sql`SELECT count(*)::int AS n FROM ${sql.identifier(SCHEMA)}.streams WHERE workflow_uuid = ${workflowId} AND key = ${key}`)) as unknown as {
    rows: Array<{ n: number }>;
  };
  let left = counted.rows[0]?.n ?? 0;
  const values: T[] = [];
  if (!left) return values;
  for await (const batch of DBOS.readStream<T[]>(workflowId, key)) {
    values.push(...batch);
    if (--left === 0) break;
  }
  return values;
}
