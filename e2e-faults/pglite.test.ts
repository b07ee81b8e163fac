import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { getJson, isRoot, newDataDir, startServer, stopAll } from "./server";

/** The embedded database under kill -9, SIGTERM, a second process and a read-only disk, on the production build. */

afterEach(stopAll);

const hasUnshare = spawnSync("unshare", ["--version"]).status === 0;

describe("a production server on PGlite", () => {
  it("on SIGTERM exits 143 and releases the lock, so a restart is ready at once", async () => {
    const dataDir = newDataDir();
    const server = await startServer({ env: { TRELLIS_DATA_DIR: dataDir } });
    await server.ready();
    expect(existsSync(`${dataDir}.lock`)).toBe(true);
    expect(await server.stop("SIGTERM")).toEqual({ code: 143, signal: null });
    expect(existsSync(`${dataDir}.lock`)).toBe(false);
    const restarted = await startServer({ env: { TRELLIS_DATA_DIR: dataDir } });
    await restarted.ready(15_000);
  });

  it("refuses a second server on the same data directory: it exits non-zero with the reason, the first keeps serving", async () => {
    const dataDir = newDataDir();
    const first = await startServer({ env: { TRELLIS_DATA_DIR: dataDir } });
    await first.ready();
    const second = await startServer({ env: { TRELLIS_DATA_DIR: dataDir } });
    expect((await second.exited).code).toBe(1);
    expect(second.output()).toMatch(new RegExp(`trellis: cannot open the database \\(PGlite in ${dataDir}\\): .*in use by another Trellis process \\(pid ${first.child.pid}\\)`));
    expect(await getJson(`${first.url}/api/ready`)).toEqual({ status: 200, body: { ok: true } });
  });

  it("after kill -9 restarts at once: the lock left behind is taken over, not obeyed", async () => {
    const dataDir = newDataDir();
    const server = await startServer({ env: { TRELLIS_DATA_DIR: dataDir } });
    await server.ready();
    await server.stop("SIGKILL");
    expect(existsSync(`${dataDir}.lock`)).toBe(true);
    const started = Date.now();
    const restarted = await startServer({ env: { TRELLIS_DATA_DIR: dataDir } });
    await restarted.ready(15_000);
    // The restart is not made to wait out a stale period: the dead pid is proof enough.
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(JSON.parse(readFileSync(`${dataDir}.lock`, "utf8"))).toMatchObject({ pid: restarted.child.pid });
  });

  it.skipIf(!isRoot || !hasUnshare)("after kill -9 as pid 1 in its own pid namespace, restarts as pid 1 again (a container restart)", async () => {
    const dataDir = newDataDir();
    const inNamespace = ["unshare", "--pid", "--fork", "--mount-proc", "--kill-child"];
    const server = await startServer({ env: { TRELLIS_DATA_DIR: dataDir }, wrap: inNamespace });
    await server.ready();
    expect(JSON.parse(readFileSync(`${dataDir}.lock`, "utf8"))).toMatchObject({ pid: 1 });
    await server.stop("SIGKILL");
    const restarted = await startServer({ env: { TRELLIS_DATA_DIR: dataDir }, wrap: inNamespace });
    // At worst (another namespace, so the old pid cannot be examined) the lock goes stale in 10 s.
    await restarted.ready(30_000);
    expect(restarted.output()).not.toMatch(/in use by another/);
  });

  it.skipIf(!isRoot || !hasUnshare)("on a read-only disk exits non-zero, saying why, instead of answering 500", async () => {
    const dataDir = newDataDir();
    const parent = dirname(dataDir);
    // A read-only bind mount of the data directory's parent, seen only by this server.
    const readOnly = ["unshare", "--mount", "sh", "-c", 'mount --bind -o ro "$0" "$0" && exec "$@"', parent];
    const server = await startServer({ env: { TRELLIS_DATA_DIR: dataDir }, wrap: readOnly });
    expect((await server.exited).code).toBe(1);
    expect(server.output()).toMatch(new RegExp(`trellis: cannot open the database \\(PGlite in ${dataDir}\\): .*(read-only|EROFS)`));
  });
});
