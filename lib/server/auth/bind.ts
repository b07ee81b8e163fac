import "server-only";
import { Server } from "node:net";
import { readServerConfig } from "../config";

/**
 * Local mode has no sign-in, so it must not be reachable from the network: a server bound to
 * anything but loopback (`next start -H 0.0.0.0`, or no `-H` at all, which binds every interface)
 * refuses to start unless TRELLIS_MODE=team. Checked at start-up, on the addresses the process is
 * actually listening on.
 */

export function isLoopbackAddress(address: string): boolean {
  const bare = address.replace(/^\[|\]$/g, "").toLowerCase();
  return bare === "::1" || bare === "localhost" || /^127(\.\d{1,3}){3}$/.test(bare) || /^::ffff:127(\.\d{1,3}){3}$/.test(bare);
}

/** Why this bind is not allowed in this mode, or null when it is. */
export function bindProblem(mode: "local" | "team", addresses: ReadonlyArray<string>): string | null {
  if (mode === "team") return null;
  const exposed = addresses.filter((address) => !isLoopbackAddress(address));
  if (!exposed.length) return null;
  return (
    `trellis: refusing to start in local mode on ${exposed.map((a) => (a === "::" || a === "0.0.0.0" ? `${a} (every interface)` : a)).join(", ")}: ` +
    "local mode has no sign-in, so anyone who can reach this address could use it. " +
    "Bind to loopback (npm start, or --hostname 127.0.0.1), or set TRELLIS_MODE=team with TRELLIS_ORIGIN and TRELLIS_AUTH_SECRET (see SECURITY.md)."
  );
}

/** The addresses this process's HTTP servers listen on (the Next.js server is listening when instrumentation runs). */
export function listeningAddresses(): string[] {
  const handles = Reflect.get(process, "_getActiveHandles") as (() => unknown[]) | undefined;
  const servers = typeof handles === "function" ? handles.call(process).filter((handle): handle is Server => handle instanceof Server && handle.listening) : [];
  const addresses = servers.flatMap((server) => {
    const address = server.address();
    return address && typeof address === "object" ? [address.address] : [];
  });
  if (addresses.length) return addresses;
  // Not listening yet (another launcher): what it was told to bind to; no hostname means every interface.
  const argv = process.argv;
  const flag = argv.findIndex((arg) => arg === "-H" || arg === "--hostname");
  const inline = argv.find((arg) => arg.startsWith("--hostname="));
  const hostname = inline?.slice("--hostname=".length) ?? (flag >= 0 ? argv[flag + 1] : undefined);
  const isNextStart = argv.some((arg) => arg === "start") && argv.some((arg) => /next(\.js)?$/.test(arg) || arg.includes("/next/dist/bin/next"));
  return hostname ? [hostname] : isNextStart ? ["::"] : [];
}

/**
 * At start-up: exits the process (status 1, one line saying what to set) when the configuration
 * does not hold or local mode is exposed beyond loopback.
 */
export function assertSafeStart(): void {
  let problem: string | null;
  try {
    problem = bindProblem(readServerConfig().security.mode, listeningAddresses());
  } catch (error) {
    problem = `trellis: ${error instanceof Error ? error.message : String(error)}`;
  }
  if (!problem) return;
  console.error(problem);
  process.exit(1);
}
