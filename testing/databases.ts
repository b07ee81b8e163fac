import { findTemplate, parseDocument, type WorkflowDocument } from "@/lib/workflow";
import { openDatabase, type Database } from "@/lib/server/db/connect";

/**
 * Test support for the database suites (kept outside lib/server, whose only reader of the
 * environment is config.ts): every backend a suite runs on — in-memory PGlite always, PostgreSQL
 * too when TEST_DATABASE_URL is set (CI installs and starts one) — and a template as a parsed document.
 */
export const backends: Array<[string, () => Promise<Database>]> = [["pglite", () => openDatabase({})]];
if (process.env.TEST_DATABASE_URL) backends.push(["postgres", () => openDatabase({ url: process.env.TEST_DATABASE_URL })]);

export function template(id: string): WorkflowDocument {
  const parsed = parseDocument(findTemplate(id)!.json);
  if (!parsed.ok) throw new Error(`invalid template ${id}`);
  return parsed.document;
}
