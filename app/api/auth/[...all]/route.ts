import { toNextJsHandler } from "better-auth/next-js";
import { authFor } from "@/lib/server/auth/auth";
import { getDatabase } from "@/lib/server/db";
import { isTeamMode } from "@/lib/server/identity";

/** Better Auth's endpoints (sign-in, sign-up, sign-out, OAuth callbacks) in team mode; nothing in local mode. */

export const dynamic = "force-dynamic";

async function handle(request: Request): Promise<Response> {
  if (!isTeamMode()) return Response.json({ ok: false, error: { code: "not-found", message: "this server runs in local mode: there is no sign-in" } }, { status: 404 });
  const { db } = await getDatabase();
  const { GET, POST } = toNextJsHandler(authFor(db));
  return request.method === "GET" ? GET(request) : POST(request);
}

export const GET = handle;
export const POST = handle;
