/**
 * The production server (`npm start`): Next.js — pages, server actions, API routes, proxy.ts,
 * instrumentation — behind a Node.js HTTP server that answers the two run routes itself
 * (`POST /api/runs`, `POST /api/runs/shared`: lib/server/run-http.ts). A run costs about a third
 * less server CPU that way and a burst of starts reaches its first events twice as fast
 * (docs/architecture.md §Transport). `next start` still works, with the same answers, through the
 * route handlers.
 *
 *   node --conditions=react-server --import tsx scripts/serve.ts [--hostname 127.0.0.1] [--port 3000]
 *
 * Like `next start`: the port is --port, -p, or PORT (default 3000); the hostname is --hostname or
 * -H, and without one the server binds every interface — which local mode refuses (SECURITY.md).
 */
import { createServer } from "node:http";
import next from "next";
import { bindProblem } from "@/lib/server/auth/bind";
import { readServerConfig } from "@/lib/server/config";

/** The last value given for an option (`--port 3000`, `--port=3000`), as `next start` reads it: `npm start -- --port 4000` overrides. */
function option(names: string[]): string | undefined {
  const args = process.argv.slice(2);
  let value: string | undefined;
  for (let i = 0; i < args.length; i++) {
    for (const name of names) {
      if (args[i] === name) value = args[i + 1];
      else if (args[i].startsWith(`${name}=`)) value = args[i].slice(name.length + 1);
    }
  }
  return value;
}

const hostname = option(["--hostname", "-H"]);
const port = Number(option(["--port", "-p"]) ?? process.env.PORT ?? 3000);
if (!Number.isInteger(port) || port < 0 || port > 65_535) {
  console.error(`trellis: --port must be a port number (0–65535), not "${option(["--port", "-p"]) ?? process.env.PORT}"`);
  process.exit(1);
}

// Before anything listens: instrumentation checks again on the addresses the server listens on.
let problem: string | null;
try {
  problem = bindProblem(readServerConfig().security.mode, [hostname ?? "::"]);
} catch (error) {
  problem = `trellis: ${error instanceof Error ? error.message : String(error)}`;
}
if (problem) {
  console.error(problem);
  process.exit(1);
}

const started = performance.now();
const app = next({ dev: false, dir: process.cwd(), hostname: hostname ?? "localhost", port });
const handle = app.getRequestHandler();
// Opens the database and runs instrumentation (start-up checks, recovery, shutdown handlers).
await app.prepare();
// Loaded after Next.js has prepared: the server modules use its request storage.
const { runRouteOf, serveRunRequest } = await import("@/lib/server/run-http");

const server = createServer((request, response) => {
  const route = runRouteOf(request.method, request.url);
  if (route) {
    serveRunRequest(request, response, route).catch((error: unknown) => {
      console.error("trellis: a run request failed outside the run service:", error);
      response.destroy();
    });
    return;
  }
  void handle(request, response);
});
server.once("error", (error: NodeJS.ErrnoException) => {
  console.error(`trellis: cannot listen on ${hostname ?? "every interface"}, port ${port}: ${error.code === "EADDRINUSE" ? "the port is in use" : error.message}`);
  process.exit(1);
});
server.listen(port, hostname, () => {
  const address = server.address();
  const shown = address && typeof address === "object" ? `${address.family === "IPv6" ? `[${address.address}]` : address.address}:${address.port}` : String(address);
  console.log(`trellis: ready on http://${shown} in ${Math.round(performance.now() - started)} ms (Next.js, with the run routes served directly)`);
});
