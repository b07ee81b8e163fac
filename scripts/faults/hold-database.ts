import { findTemplate, parseDocument } from "@/lib/workflow";
import { getDatabase, PROCESS_ID } from "@/lib/server/db";
import { startServerProcess } from "@/lib/server/db/lifecycle";
import { createRun } from "@/lib/server/db/queries";

/**
 * A server process without the web server: opens the database the way instrumentation.ts does
 * (or exits non-zero saying why), says "ready", and stays up until a signal. With
 * TRELLIS_FAULT_RUN_ID it first starts the record of a run it owns (as a live run would be), so
 * tests can watch what other processes make of it. The lifecycle and fault tests start it.
 */
await startServerProcess();
const runId = process.env.TRELLIS_FAULT_RUN_ID;
if (runId) {
  const document = parseDocument(findTemplate("routing")!.json);
  if (!document.ok) throw new Error("the routing template does not parse");
  const { db } = await getDatabase();
  await createRun(db, { id: runId, owner: "fault-test", document: document.document, inputs: {}, processId: PROCESS_ID });
}
console.log(`ready ${PROCESS_ID}`);
setInterval(() => undefined, 60_000);
