import { checkReadiness } from "@/lib/server/db/readiness";

export const dynamic = "force-dynamic";

/** Readiness: the database answers a trivial query; 503 with the reason when it does not. */
export async function GET() {
  const readiness = await checkReadiness();
  return Response.json(readiness, { status: readiness.ok ? 200 : 503, headers: { "cache-control": "no-store" } });
}
