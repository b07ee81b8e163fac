import { afterAll, describe, expect, it, vi } from "vitest";
import { findTemplate } from "@/lib/workflow";
import { openDatabase, type Database } from "./db/connect";
import { listWorkflows } from "./db/queries";

/** Saving while the database is down: a typed answer the editor can show, and one workflow once it is back. */

const OWNER = "owner-database-down-abcdefghijklmnopqrstuvwxyz";
const state: { database: Database | null } = { database: null };

vi.mock("./identity", () => ({ ensureIdentity: async () => OWNER, readIdentity: async () => OWNER, SignInRequiredError: class SignInRequiredError extends Error {} }));
vi.mock("./db", () => ({
  PROCESS_ID: "test-process",
  getDatabase: async () => {
    if (!state.database) throw Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" });
    return state.database;
  },
}));

const { saveWorkflow, renameWorkflow, runContext } = await import("./workflows");

afterAll(async () => state.database?.close());

describe("changes while the database is unavailable", () => {
  it("answer database-unavailable instead of failing the request, and a retry after recovery saves once", async () => {
    const document = findTemplate("routing")!.json;
    vi.spyOn(console, "error").mockImplementation(() => {});
    expect(await saveWorkflow({ document })).toEqual({ ok: false, error: { code: "database-unavailable", message: "could not reach the database; your draft is kept" } });
    expect(await renameWorkflow({ id: globalThis.crypto.randomUUID(), name: "x" })).toMatchObject({ ok: false, error: { code: "database-unavailable" } });
    await expect(runContext()).rejects.toMatchObject({ code: "database-unavailable" });

    state.database = await openDatabase({});
    expect(await saveWorkflow({ document })).toMatchObject({ ok: true, data: { version: 1 } });
    expect(await listWorkflows(state.database.db, { owner: OWNER })).toHaveLength(1);
  }, 30_000);

  it("still fails loudly on errors that are not about reaching the database", async () => {
    state.database = { ...state.database!, db: new Proxy(state.database!.db, { get: () => { throw new TypeError("a bug"); } }) };
    await expect(saveWorkflow({ document: findTemplate("routing")!.json })).rejects.toThrow("a bug");
  });
});
