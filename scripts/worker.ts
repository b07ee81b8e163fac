/**
 * `npm run worker`: a process that executes cluster-mode runs and nothing else (README, "Cluster
 * mode"). It needs TRELLIS_EXECUTOR=cluster and DATABASE_URL, the PostgreSQL its web processes
 * share; it migrates and beats like a web process and takes runs from the queue. On SIGTERM or
 * SIGINT it shuts DBOS down and exits: runs it had in progress are taken up by another process's
 * recovery sweep once its heartbeat is stale (and, without node checkpoints yet, end interrupted).
 */
import { ConfigError, readServerConfig } from "@/lib/server/config";
import { closeDatabase, getDatabase, PROCESS_ID } from "@/lib/server/db";
import { describeDatabase } from "@/lib/server/db/lifecycle";
import { launchCluster, stopCluster } from "@/lib/server/executor/cluster";

async function main(): Promise<void> {
  let config: ReturnType<typeof readServerConfig>;
  try {
    config = readServerConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`trellis worker: ${error.message}`);
    process.exit(1);
  }
  if (config.executor.kind !== "cluster") {
    console.error("trellis worker: runs execute in the web process unless TRELLIS_EXECUTOR=cluster (with DATABASE_URL): a worker has nothing to do");
    process.exit(1);
  }
  const started = performance.now();
  try {
    await getDatabase();
  } catch (error) {
    console.error(`trellis worker: cannot open the database (${describeDatabase(config)}): ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
  await launchCluster({ databaseUrl: config.executor.databaseUrl });
  console.log(`trellis worker ${PROCESS_ID}: taking runs (${describeDatabase(config)}; ready in ${Math.round(performance.now() - started)} ms)`);
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.once(signal, () => {
      void stopCluster()
        .then(() => closeDatabase())
        .catch((error: Error) => console.error("trellis worker: shutdown failed:", error.message))
        .finally(() => process.exit(0));
    });
  }
}

void main();
