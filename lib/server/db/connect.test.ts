import { types, type PGlite } from "@electric-sql/pglite";
import { sql } from "drizzle-orm";
import { afterAll, describe, expect, it } from "vitest";
import { openDatabase } from "./connect";

/**
 * PGlite through drizzle: drizzle's own per-query parsers are set on the client once (connect.ts,
 * parseOnce), and what a query returns is unchanged — dates, times, intervals and their arrays,
 * and numeric arrays as PostgreSQL's text (drizzle maps them), everything else parsed as PGlite does.
 */

const database = await openDatabase({});
afterAll(() => database.close());
const client = (database.db as unknown as { $client: PGlite }).$client;

describe("PGlite's parsers under drizzle", () => {
  it("keeps the types drizzle maps itself as text, and parses the rest", async () => {
    const { rows } = (await database.db.execute(sql`SELECT
      '2026-01-02 03:04:05.5'::timestamp AS ts,
      '2026-01-02 03:04:05+00'::timestamptz AS tstz,
      '1 day 02:00:00'::interval AS iv,
      '2026-01-02'::date AS d,
      ARRAY[1.5, 2]::numeric[] AS nums,
      ARRAY['2026-01-02 03:04:05'::timestamp] AS tss,
      ARRAY['2026-01-02 03:04:05+00'::timestamptz] AS tstzs,
      ARRAY['1 day'::interval] AS ivs,
      ARRAY['2026-01-02'::date] AS ds,
      '{"a":[1,2]}'::jsonb AS doc,
      42::int8 AS big,
      ARRAY[1, 2]::int4[] AS ints,
      true AS yes`)) as unknown as { rows: unknown[] };
    expect(rows).toEqual([
      {
        ts: "2026-01-02 03:04:05.5",
        tstz: "2026-01-02 03:04:05+00",
        iv: "1 day 02:00:00",
        d: "2026-01-02",
        nums: "{1.5,2}",
        tss: '{"2026-01-02 03:04:05"}',
        tstzs: '{"2026-01-02 03:04:05+00"}',
        ivs: '{"1 day"}',
        ds: "{2026-01-02}",
        doc: { a: [1, 2] },
        big: 42,
        ints: [1, 2],
        yes: true,
      },
    ]);
  });

  it("still applies parsers a query brings that are not drizzle's text parsers", async () => {
    const doubled = await client.query<{ x: number }>("SELECT 21::int4 AS x", [], { parsers: { [types.INT4]: (value: string) => Number(value) * 2 } });
    expect(doubled.rows).toEqual([{ x: 42 }]);
    // A date parser that parses is applied too, even for a type drizzle keeps as text.
    const parsed = await client.query<{ d: unknown }>("SELECT '2026-01-02'::date AS d", [], { parsers: { [types.DATE]: (value: string) => `parsed ${value}` } });
    expect(parsed.rows).toEqual([{ d: "parsed 2026-01-02" }]);
  });
});
