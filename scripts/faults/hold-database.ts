import { startServerProcess } from "@/lib/server/db/lifecycle";

/**
 * A server process without the web server: opens the database the way instrumentation.ts does
 * (or exits non-zero saying why), says "ready", and stays up until a signal. The lifecycle and
 * fault tests start it as a child process.
 */
await startServerProcess();
console.log("ready");
setInterval(() => undefined, 60_000);
