/** Liveness: the process is up and answering. It touches nothing else, so a database outage does not get the process restarted; /api/ready says whether it can serve. */
export function GET() {
  return Response.json({ ok: true });
}
