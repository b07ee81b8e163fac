import { PGlite } from "@electric-sql/pglite";
import { sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/pglite";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { databaseErrorMessage, DatabaseUnavailableError, isDatabaseUnavailable, isDiskFull, sqlState } from "./errors";
import { DatabaseLockedError } from "./lock";

/** Telling "the database is not there right now" from "this request is wrong", on the errors drivers really throw. */

async function failure(action: () => Promise<unknown>): Promise<unknown> {
  try {
    await action();
  } catch (error) {
    return error;
  }
  throw new Error("expected a failure");
}

describe("database errors", () => {
  it("counts a refused connection, a closed PGlite, a lock held elsewhere and a full disk as unavailable", async () => {
    const pool = new pg.Pool({ connectionString: "postgres://trellis:trellis@127.0.0.1:1/nowhere", connectionTimeoutMillis: 2_000 });
    pool.on("error", () => {});
    expect(isDatabaseUnavailable(await failure(() => pool.query("SELECT 1")))).toBe(true);
    await pool.end();

    const client = new PGlite();
    const db = drizzle(client);
    await client.close();
    const closed = await failure(() => db.execute(sql`SELECT 1`));
    expect(isDatabaseUnavailable(closed)).toBe(true);

    expect(isDatabaseUnavailable(new DatabaseLockedError("/data", 42))).toBe(true);
    expect(isDatabaseUnavailable(Object.assign(new Error("could not extend file"), { code: "53100" }))).toBe(true);
    expect(isDatabaseUnavailable(new Error("Failed query: insert …", { cause: Object.assign(new Error("terminating connection due to administrator command"), { code: "57P01" }) }))).toBe(true);
  });

  it("does not count a refused statement as unavailable, and finds its SQLSTATE through Drizzle's wrapper", async () => {
    const client = new PGlite();
    const db = drizzle(client);
    await db.execute(sql`CREATE TABLE t (id int PRIMARY KEY)`);
    await db.execute(sql`INSERT INTO t VALUES (1)`);
    const duplicate = await failure(() => db.execute(sql`INSERT INTO t VALUES (1)`));
    expect(isDatabaseUnavailable(duplicate)).toBe(false);
    expect(sqlState(duplicate)).toBe("23505");
    expect(databaseErrorMessage(duplicate)).toMatch(/duplicate key/);
    expect(databaseErrorMessage(duplicate)).not.toMatch(/Failed query/);
    await client.close();
  });

  it("carries the message a person sees when saving fails this way", () => {
    expect(new DatabaseUnavailableError()).toMatchObject({ code: "database-unavailable", message: "could not reach the database; your draft is kept" });
  });

  it("says a full disk is a full disk, not an unreachable database, wherever the driver puts it", () => {
    const full = [
      Object.assign(new Error("could not extend file \"base/5/16384\": No space left on device"), { code: "53100" }),
      new Error("Failed query: insert …", { cause: Object.assign(new Error("write failed"), { code: "ENOSPC" }) }),
      new Error("Failed query: insert …", { cause: new Error("ErrnoError: No space left on device") }),
    ];
    for (const error of full) {
      expect(isDatabaseUnavailable(error)).toBe(true);
      expect(isDiskFull(error)).toBe(true);
      expect(new DatabaseUnavailableError(error).message).toMatch(/^the server's disk is full, so nothing was saved; your draft is kept/);
    }
    const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" });
    expect(isDiskFull(refused)).toBe(false);
    expect(new DatabaseUnavailableError(refused).message).toBe("could not reach the database; your draft is kept");
  });
});
