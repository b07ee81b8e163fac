/**
 * Start-up: refuse a local-mode server reachable beyond loopback, and a configuration that does
 * not hold (exit 1 with what to set); open the database (migrations, interrupted-run recovery) before the first request, or
 * exit non-zero with the reason; in cluster mode, launch DBOS (docs/cluster.md) before the first request too, so a
 * broken cluster configuration fails here rather than on a first run. On SIGTERM/SIGINT write what the run recorders
 * hold, then release DBOS and the database.
 */
export async function register() {
  if (process.env.NEXT_RUNTIME !== "nodejs") return;
  (await import("./lib/server/auth/bind")).assertSafeStart();
  const [{ startServerProcess }, { flushAllRecorders }, { readServerConfig }] = await Promise.all([
    import("./lib/server/db/lifecycle"),
    import("./lib/server/recorder"),
    import("./lib/server/config"),
  ]);
  const executor = readServerConfig().executor;
  const cluster = executor.kind === "cluster" ? await import("./lib/server/executor/cluster") : null;
  await startServerProcess({
    beforeClose: async () => {
      // A web process executes no runs: stopping DBOS only ends its stream readers and its recovery sweep.
      await cluster?.stopCluster();
      await flushAllRecorders();
    },
  });
  if (cluster && executor.kind === "cluster") {
    const started = performance.now();
    await cluster.launchCluster({ databaseUrl: executor.databaseUrl });
    console.log(`trellis: cluster mode: DBOS launched in ${Math.round(performance.now() - started)} ms; runs execute on workers (npm run worker)`);
  }
}
