import { spawn, type ChildProcess } from "node:child_process";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { serveArgs } from "../scripts/serve-command";
import { tempDir } from "../testing/temp-dirs";

/**
 * Production servers of the build in the working directory, started by the security and auth
 * specs themselves (each with its own data directory and environment: team mode, caps, a mock
 * provider), and a mock LLM provider that fails the way real ones do while echoing back everything
 * it received — so a test can prove none of it reaches a browser.
 */

export type RunningServer = { url: string; process: ChildProcess; output: () => string; stop: () => Promise<void> };

export const newDataDir = () => join(tempDir("trellis-e2e-auth-"), "pglite");

/** Starts the production server (`npm start`) and waits for its health route; `host` is what it binds to. */
export async function startServer({ port, env, host = "127.0.0.1" }: { port: number; env: Record<string, string>; host?: string }): Promise<RunningServer> {
  const child = spawn(process.execPath, [...serveArgs(), "--hostname", host, "--port", String(port)], {
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1", DATABASE_URL: "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk));
  const url = `http://127.0.0.1:${port}`;
  // SIGTERM lets it write what its recorders hold; a server still held open by a request gets SIGKILL after 10 s.
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const kill = setTimeout(() => child.kill("SIGKILL"), 10_000);
      child.once("exit", () => {
        clearTimeout(kill);
        resolve();
      });
      child.kill("SIGTERM");
    });
  const started = Date.now();
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the server exited (${child.exitCode}): ${output}`);
    const healthy = await fetch(`${url}/api/health`)
      .then((response) => response.ok)
      .catch(() => false);
    // Healthy, and it is this process answering (not another server left on the port).
    if (healthy && child.exitCode === null) return { url, process: child, output: () => output, stop };
    if (Date.now() - started > 60_000) {
      await stop();
      throw new Error(`the server did not come up: ${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Runs the production server expecting it to refuse: its exit code and what it printed. */
export function startExpectingExit({ port, env, host }: { port: number; env: Record<string, string>; host: string }): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [...serveArgs(), "--hostname", host, "--port", String(port)], {
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1", DATABASE_URL: "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk));
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

/**
 * A provider that answers 401 or 500 (by the model asked for: a name containing "401" or "500")
 * with a body echoing the request's method, URL, headers and body — the worst a real provider's
 * error page could do. Anything else gets a 404 that echoes too.
 */
export async function startEchoingProvider(): Promise<{ port: number; received: string[]; close: () => Promise<void> }> {
  const received: string[] = [];
  const server: Server = createServer((request: IncomingMessage, response: ServerResponse) => {
    let body = "";
    request.on("data", (chunk: Buffer) => (body += chunk));
    request.on("end", () => {
      const echo = JSON.stringify({ method: request.method, url: request.url, headers: request.headers, body });
      received.push(echo);
      const status = body.includes("401") ? 401 : body.includes("500") ? 500 : 404;
      response.writeHead(status, { "content-type": "application/json" });
      response.end(JSON.stringify({ error: { message: `request refused; you sent ${echo} to http://127.0.0.1:${(server.address() as AddressInfo).port}${request.url}`, type: "echo" } }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { port: (server.address() as AddressInfo).port, received, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
