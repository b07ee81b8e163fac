import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { freePort, getJson, startServer, stopAll } from "./server";
import { TcpProxy } from "./tcp-proxy";

/**
 * Production servers on PostgreSQL (TEST_DATABASE_URL, as CI starts it): several starting at once,
 * PostgreSQL unreachable at start-up, and PostgreSQL going away and coming back while serving.
 * "Going away" is a proxy being cut, so the PostgreSQL other tests share keeps running.
 */

const adminUrl = process.env.TEST_DATABASE_URL;

describe.skipIf(!adminUrl)("production servers on PostgreSQL", () => {
  const admin = new pg.Pool({ connectionString: adminUrl, max: 1 });
  const created: string[] = [];
  const proxies: TcpProxy[] = [];
  afterEach(async () => {
    await stopAll();
    await Promise.all(proxies.splice(0).map((proxy) => proxy.cut()));
  });
  afterAll(async () => {
    for (const name of created) await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  });

  async function newDatabase({ through }: { through?: TcpProxy } = {}): Promise<string> {
    const name = `trellis_faults_${randomBytes(6).toString("hex")}`;
    await admin.query(`CREATE DATABASE ${name}`);
    created.push(name);
    const url = new URL(adminUrl!);
    url.pathname = `/${name}`;
    if (through) {
      url.hostname = "127.0.0.1";
      url.port = String(through.port);
    }
    return url.toString();
  }

  async function proxy(): Promise<TcpProxy> {
    const target = new URL(adminUrl!);
    const tcp = new TcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
    await tcp.start();
    proxies.push(tcp);
    return tcp;
  }

  it("three servers starting at once on a fresh database all become ready, with one set of tables", async () => {
    const url = await newDatabase();
    const servers = await Promise.all([0, 1, 2].map(() => startServer({ env: { DATABASE_URL: url } })));
    await Promise.all(servers.map((server) => server.ready()));
    const pool = new pg.Pool({ connectionString: url, max: 1 });
    expect((await pool.query("SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations")).rows).toEqual([{ n: 1 }]);
    expect((await pool.query("SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'")).rows).toEqual([{ n: 6 }]);
    await pool.end();
  });

  it("exits non-zero with one line when PostgreSQL cannot be reached at start-up, never showing the password", async () => {
    const url = new URL(adminUrl!);
    url.hostname = "127.0.0.1";
    url.port = String(await freePort());
    url.password = "secret-in-url";
    const server = await startServer({ env: { DATABASE_URL: url.toString() } });
    expect((await server.exited).code).toBe(1);
    expect(server.output()).toMatch(/^trellis: cannot open the database \(PostgreSQL at 127\.0\.0\.1:\d+\/\w+\): .*ECONNREFUSED/m);
    expect(server.output()).not.toContain("secret-in-url");
  });

  it("when PostgreSQL goes away stays alive (liveness 200), is not ready (503 with the reason), and recovers without a restart", async () => {
    const tcp = await proxy();
    const server = await startServer({ env: { DATABASE_URL: await newDatabase({ through: tcp }) } });
    await server.ready();

    await tcp.cut();
    expect(await getJson(`${server.url}/api/health`)).toEqual({ status: 200, body: { ok: true } });
    const down = await getJson(`${server.url}/api/ready`);
    expect(down).toMatchObject({ status: 503, body: { ok: false, reason: expect.stringMatching(/^database unavailable: /) } });
    // Pooled connections that died while idle are reported, not fatal.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(server.child.exitCode).toBeNull();

    await tcp.restore();
    await server.ready(20_000);
    expect(server.output()).not.toMatch(/uncaughtException|unhandledRejection/i);
  });
});
