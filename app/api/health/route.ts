/** Readiness: the server is up and can answer. Used by the e2e web server wait. */
export function GET() {
  return Response.json({ ok: true });
}
