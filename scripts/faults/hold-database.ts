import { findTemplate, parseDocument, type RunEvent } from "@/lib/workflow";
import { getDatabase, PROCESS_ID } from "@/lib/server/db";
import { startServerProcess } from "@/lib/server/db/lifecycle";
import { createRun, runRecordSink } from "@/lib/server/db/queries";
import { flushAllRecorders, RunRecorder } from "@/lib/server/recorder";

/**
 * A server process without the web server: opens the database the way instrumentation.ts does
 * (or exits non-zero saying why), says "ready", and stays up until a signal. With
 * TRELLIS_FAULT_RUN_ID it first starts the record of a run it owns (as a live run would be), and
 * with TRELLIS_FAULT_BUFFERED_EVENTS=n leaves n of its events in a recorder, not yet written — so
 * tests can watch what other processes, or a SIGTERM, make of it.
 */
await startServerProcess({ beforeClose: () => flushAllRecorders() });
const runId = process.env.TRELLIS_FAULT_RUN_ID;
if (runId) {
  const document = parseDocument(findTemplate("routing")!.json);
  if (!document.ok) throw new Error("the routing template does not parse");
  const { db } = await getDatabase();
  await createRun(db, { id: runId, owner: "fault-test", document: document.document, inputs: {}, processId: PROCESS_ID });
  const buffered = Number(process.env.TRELLIS_FAULT_BUFFERED_EVENTS ?? 0);
  // Written only when flushed: the batch delay is longer than any test.
  const recorder = new RunRecorder(
    runRecordSink(db, runId),
    { maxDelayMs: 3_600_000, maxBatch: 10_000 },
  );
  for (let seq = 0; seq < buffered; seq++) {
    const event: RunEvent = seq === 0 ? { seq, t: 0, type: "run-started", runId, workflow: "Routing", inputs: {} } : { seq, t: seq, type: "node-delta", nodeId: "n_router", text: `${seq} ` };
    recorder.push(event);
  }
}
console.log(`ready ${PROCESS_ID}`);
setInterval(() => undefined, 60_000);
