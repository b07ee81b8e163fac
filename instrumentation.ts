/**
 * Start-up: open the database (migrations, interrupted-run recovery) before the first request, or
 * exit non-zero with the reason; on SIGTERM/SIGINT release the database.
 */
export async function register() {
  if (process.env.NEXT_RUNTIME !== "nodejs") return;
  const { startServerProcess } = await import("./lib/server/db/lifecycle");
  await startServerProcess();
}
