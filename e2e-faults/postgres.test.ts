import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import type { RunEventOf } from "@/lib/workflow";
import { ActionClient } from "./client";
import { chain, finished, follow, PACE, until } from "./runs";
import { APP_DIR, freePort, getJson, startServer, stopAll } from "./server";
import { TcpProxy } from "./tcp-proxy";

/**
 * Production servers on PostgreSQL (TEST_DATABASE_URL, as CI starts it): several starting at once,
 * PostgreSQL unreachable at start-up, and PostgreSQL going away and coming back while serving.
 * "Going away" is a proxy being cut, so the PostgreSQL other tests share keeps running.
 */

const adminUrl = process.env.TEST_DATABASE_URL;
const MIGRATIONS = join(APP_DIR, "lib", "server", "db", "migrations");

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
    // As many migrations and tables as the committed migrations make: each applied once.
    const journal = JSON.parse(readFileSync(join(MIGRATIONS, "meta", "_journal.json"), "utf8")) as { entries: Array<{ tag: string; idx: number }> };
    const last = journal.entries.at(-1)!;
    const snapshot = JSON.parse(readFileSync(join(MIGRATIONS, "meta", `${String(last.idx).padStart(4, "0")}_snapshot.json`), "utf8")) as { tables: Record<string, unknown> };
    const pool = new pg.Pool({ connectionString: url, max: 1 });
    try {
      expect((await pool.query("SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations")).rows).toEqual([{ n: journal.entries.length }]);
      expect((await pool.query("SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'")).rows).toEqual([{ n: Object.keys(snapshot.tables).length }]);
    } finally {
      await pool.end();
    }
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

  it("PostgreSQL gone mid-run: the run ends and its record is finished (or it says it is not), new work gets a clear error, and all recovers without a restart", async () => {
    const tcp = await proxy();
    const server = await startServer({ env: { DATABASE_URL: await newDatabase({ through: tcp }), ...PACE } });
    await server.ready();
    const client = new ActionClient(server.url, APP_DIR);
    const document = chain();
    const saved = await client.save(document);
    const run = await follow(client.run(document, { workflowId: saved.id, baseVersion: saved.version }));
    await run.until((event) => event.type === "node-delta");

    await tcp.cut();
    // While it is away, new work is refused with a clear, typed error (the editor keeps its draft).
    const refused = await follow(client.run(document, { workflowId: saved.id, baseVersion: saved.version }));
    expect(await refused.until(finished)).toMatchObject({ status: "failed", error: { code: "database-unavailable", message: expect.stringMatching(/could not reach the database/) } });
    await expect(client.save(document, saved)).rejects.toThrow(/database-unavailable: could not reach the database; your draft is kept/);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    await tcp.restore();

    // The run went on meanwhile; its record catches up (the recorder retried) or the run says it could not.
    const end = (await run.until(finished, 60_000)) as RunEventOf<"run-finished">;
    expect(end.status).toBe("succeeded");
    // The outage did meet the run's recording.
    expect(server.output()).toMatch(/run recording is failing, retrying/);
    const [listed] = await until(
      () => client.runsOf(saved.id),
      (runs) => runs.some((r) => r.status !== "running"),
      30_000,
    );
    expect(listed.status).toBe("succeeded");
    const recorded = await client.recordedEvents(listed.id);
    const complete = run.seen.filter((event) => event.type !== "node-delta").every((event) => recorded.some((stored) => stored.seq === event.seq));
    expect(complete || end.warnings.some((warning) => warning.code === "not-recorded")).toBe(true);

    // Recovery without a restart: the same process runs and saves again.
    const again = await follow(client.run(document, { workflowId: saved.id, baseVersion: saved.version }));
    expect(await again.until(finished)).toMatchObject({ status: "succeeded", warnings: [] });
    expect(await client.save(document, saved)).toEqual({ id: saved.id, version: 2 });
    expect(server.child.exitCode).toBeNull();
    expect(server.output()).not.toMatch(/uncaughtException|unhandledRejection/i);
  });
});
