import { join } from "node:path";

/**
 * Node.js's arguments for the production server (`npm start`: scripts/serve.ts) of the app in
 * `appDir`, for the tools and test suites that start one as a process of their own (so signals and
 * CPU time are the server's). Run with `cwd: appDir`.
 */
export function serveArgs(appDir: string = process.cwd()): string[] {
  return ["--conditions=react-server", "--import", "tsx", join(appDir, "scripts", "serve.ts")];
}
