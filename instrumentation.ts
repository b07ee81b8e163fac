/**
 * Start-up: refuse a local-mode server reachable beyond loopback, and a configuration that does
 * not hold (exit 1 with what to set); open the database (migrations, interrupted-run recovery) before the first request, or
 * exit non-zero with the reason; on SIGTERM/SIGINT write what the run recorders hold, then release the database.
 */
export async function register() {
  if (process.env.NEXT_RUNTIME !== "nodejs") return;
  (await import("./lib/server/auth/bind")).assertSafeStart();
  const [{ startServerProcess }, { flushAllRecorders }] = await Promise.all([import("./lib/server/db/lifecycle"), import("./lib/server/recorder")]);
  await startServerProcess({ beforeClose: () => flushAllRecorders() });
}
