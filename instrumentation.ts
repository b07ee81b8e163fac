/**
 * Start-up: refuse a local-mode server reachable beyond loopback, and a configuration that does
 * not hold (exit 1 with what to set); open the database (migrations, interrupted-run recovery) before the first request, or
 * exit non-zero with the reason; in cluster mode, launch DBOS (docs/cluster.md) before the first request too, so a
 * broken cluster configuration fails here rather than on a first run — taking runs from the queue as a worker does when
 * TRELLIS_WEB_EXECUTES is set. On SIGTERM/SIGINT hand the runs executing here over (cluster mode), write what the run
 * recorders hold, then release DBOS and the database.
 */
export async function register() {
  if (process.env.NEXT_RUNTIME !== "nodejs") return;
  (await import("./lib/server/auth/bind")).assertSafeStart();
  const [{ startServerProcess }, { flushAllRecorders }, { readServerConfig }, { PROCESS_ID }] = await Promise.all([
    import("./lib/server/db/lifecycle"),
    import("./lib/server/recorder"),
    import("./lib/server/config"),
    import("./lib/server/db"),
  ]);
  const executor = readServerConfig().executor;
  const cluster = executor.kind === "cluster" ? await import("./lib/server/executor/cluster") : null;
  await startServerProcess({
    beforeClose: async () => {
      // Runs executing here (TRELLIS_WEB_EXECUTES) go back on the queue at once with everything they sent durable;
      // otherwise stopping DBOS only ends this process's stream readers and its recovery sweep.
      await cluster?.stopCluster();
      await flushAllRecorders();
    },
  });
  if (cluster && executor.kind === "cluster") {
    const started = performance.now();
    await cluster.launchCluster({ databaseUrl: executor.databaseUrl, executesRuns: executor.webExecutes });
    const where = executor.webExecutes ? `this process (${PROCESS_ID}) takes runs from the queue too (TRELLIS_WEB_EXECUTES)` : "runs execute on workers (npm run worker)";
    console.log(`trellis: cluster mode: DBOS launched in ${Math.round(performance.now() - started)} ms; ${where}`);
  }
}
