/**
 * `npm run worker`: a process that executes cluster-mode runs (README, "Cluster mode";
 * docs/cluster.md). It needs TRELLIS_EXECUTOR=cluster and DATABASE_URL, the PostgreSQL its web
 * processes share; it migrates and beats like a web process and takes runs from the queue.
 *
 * SIGTERM or SIGINT: it takes no more runs, lets those in progress finish for up to
 * `--drain-ms` (default 10000), then hands the rest over — each goes back on the queue with every
 * event it sent durable, and another worker resumes it at once — and exits 0.
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
  const drainMs = drainOption(process.argv.slice(2));
  await launchCluster({ databaseUrl: config.executor.databaseUrl, executesRuns: true });
  console.log(`trellis worker ${PROCESS_ID}: taking runs (${describeDatabase(config)}; ready in ${Math.round(performance.now() - started)} ms)`);
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.once(signal, () => {
      console.log(`trellis worker ${PROCESS_ID}: ${signal}: taking no more runs; those in progress finish within ${drainMs} ms or are handed over`);
      void stopCluster({ drainMs })
        .then(({ finished, handedOver }) => console.log(`trellis worker ${PROCESS_ID}: stopped (${finished} finished here, ${handedOver} handed over)`))
        .then(() => closeDatabase())
        .catch((error: Error) => console.error("trellis worker: shutdown failed:", error.message))
        .finally(() => process.exit(0));
    });
  }
}

/** `--drain-ms <n>` or `--drain-ms=<n>`: how long runs in progress may take to finish at SIGTERM before they are handed over. */
function drainOption(args: string[]): number {
  const at = args.findIndex((arg) => arg === "--drain-ms" || arg.startsWith("--drain-ms="));
  if (at < 0) return 10_000;
  const value = Number(args[at].includes("=") ? args[at].split("=")[1] : args[at + 1]);
  if (!Number.isFinite(value) || value < 0) {
    console.error("trellis worker: --drain-ms takes a number of milliseconds");
    process.exit(1);
  }
  return value;
}

void main();
