import { spawn, type ChildProcess } from "node:child_process";
import { createServer, type AddressInfo } from "node:net";
import { join } from "node:path";
import { serveArgs } from "../scripts/serve-command";
import { tempDir } from "../testing/temp-dirs";

/** Starting and stopping production Trellis servers for the fault suite. */

export const APP_DIR = process.env.TRELLIS_FAULTS_APP_DIR ?? process.cwd();

export const isRoot = process.getuid?.() === 0;
export const newDataDir = () => join(tempDir("trellis-faults-"), "pglite");

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export type Exit = { code: number | null; signal: NodeJS.Signals | null };

export type Server = {
  child: ChildProcess;
  url: string;
  /** Everything the server wrote to stdout and stderr so far. */
  output(): string;
  exited: Promise<Exit>;
  /** Resolves when /api/ready answers 200; rejects when the process exits first or `timeoutMs` passes. */
  ready(timeoutMs?: number): Promise<void>;
  stop(signal?: NodeJS.Signals): Promise<Exit>;
};

const running = new Set<Server>();

/** The production server (`npm start`) as one process (no npm or shell in between), so signals reach the server itself. `wrap` runs it under e.g. `unshare`. */
export async function startServer({ env = {}, wrap = [] }: { env?: Record<string, string>; wrap?: string[] } = {}): Promise<Server> {
  const port = await freePort();
  const command = [...wrap, process.execPath, ...serveArgs(APP_DIR), "--hostname", "127.0.0.1", "--port", String(port)];
  const child = spawn(command[0], command.slice(1), {
    cwd: APP_DIR,
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1", DATABASE_URL: "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk));
  const exited = new Promise<Exit>((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  let gone = false;
  void exited.then(() => (gone = true));
  const url = `http://127.0.0.1:${port}`;
  const server: Server = {
    child,
    url,
    output: () => output,
    exited,
    async ready(timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        if (gone) throw new Error(`the server exited before it was ready:\n${output}`);
        const response = await fetch(`${url}/api/ready`).catch(() => null);
        if (response?.ok) return;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      throw new Error(`the server was not ready within ${timeoutMs} ms:\n${output}`);
    },
    async stop(signal = "SIGTERM") {
      if (!gone) child.kill(signal);
      return exited;
    },
  };
  running.add(server);
  void exited.then(() => running.delete(server));
  return server;
}

/** For afterEach: no server outlives its test. */
export async function stopAll() {
  await Promise.all([...running].map((server) => server.stop("SIGKILL")));
}

export async function getJson(url: string): Promise<{ status: number; body: unknown }> {
  const response = await fetch(url);
  return { status: response.status, body: await response.json() };
}
