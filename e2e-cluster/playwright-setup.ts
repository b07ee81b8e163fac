import { freshDatabase, requireBuild, startWeb, startWorker, stopAll } from "./processes";

/**
 * Starts the cluster the Playwright test drives: web A and web B on the production build, two
 * workers, one fresh database. Their addresses reach the test through the environment.
 */
export default async function setup(): Promise<() => Promise<void>> {
  const base = process.env.TEST_DATABASE_URL;
  if (!base) throw new Error("the cluster suite needs TEST_DATABASE_URL (a PostgreSQL role that may create databases)");
  requireBuild();
  const port = Number(process.env.TRELLIS_CLUSTER_PORT ?? 3300) + 2;
  const databaseUrl = await freshDatabase(base, "trellis_cluster_browser_test");
  // Slower than the e2e suite's pace: a node streams for several seconds, so the run is still streaming while a second tab attaches.
  const env = { TRELLIS_DEMO_FIRST_TOKEN_MS: "300", TRELLIS_DEMO_CHUNK_MS: "150" };
  const webA = await startWeb({ port, databaseUrl, env });
  const [webB, ...workers] = await Promise.all([startWeb({ port: port + 1, databaseUrl, env }), startWorker({ databaseUrl, env }), startWorker({ databaseUrl, env })]);
  process.env.CLUSTER_WEB_A = webA.url;
  process.env.CLUSTER_WEB_B = webB.url;
  process.env.CLUSTER_DATABASE_URL = databaseUrl;
  process.env.CLUSTER_WORKERS = workers.map((worker) => worker.id).join(",");
  return stopAll;
}
