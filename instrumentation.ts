/** Start-up: open the database (migrations, interrupted-run recovery) before the first request. */
export async function register() {
  if (process.env.NEXT_RUNTIME !== "nodejs") return;
  const { getDatabase } = await import("./lib/server/db");
  await getDatabase();
}
