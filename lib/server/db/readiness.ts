import "server-only";
import { sql } from "drizzle-orm";
import { getDatabase } from "./index";

export type Readiness = { ok: true } | { ok: false; reason: string };

/** Whether the database answers `SELECT 1` within `timeoutMs`. A hung connection is not ready either. */
export async function checkReadiness({ timeoutMs = 3_000 }: { timeoutMs?: number } = {}): Promise<Readiness> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the database did not answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    const { db } = await Promise.race([getDatabase(), timeout]);
    await Promise.race([db.execute(sql`SELECT 1`), timeout]);
    return { ok: true };
  } catch (error) {
    return { ok: false, reason: `database unavailable: ${error instanceof Error ? error.message : String(error)}` };
  } finally {
    clearTimeout(timer);
  }
}
