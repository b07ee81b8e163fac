import { describe, expect, it } from "vitest";
import { ConfigError, readServerConfig } from "../config";

const env = (variables: Record<string, string>) => ({ NODE_ENV: "test", ...variables }) as NodeJS.ProcessEnv;

describe("executor configuration (TRELLIS_EXECUTOR)", () => {
  it("runs in process by default", () => {
    expect(readServerConfig(env({})).executor).toEqual({ kind: "in-process" });
  });

  it("refuses cluster mode without DATABASE_URL, saying what to set", () => {
    expect(() => readServerConfig(env({ TRELLIS_EXECUTOR: "cluster" }))).toThrow(ConfigError);
    expect(() => readServerConfig(env({ TRELLIS_EXECUTOR: "cluster" }))).toThrow(/TRELLIS_EXECUTOR=cluster needs DATABASE_URL/);
    expect(readServerConfig(env({ TRELLIS_EXECUTOR: "cluster", DATABASE_URL: "postgres://trellis@db:5432/trellis" })).executor).toEqual({ kind: "cluster", databaseUrl: "postgres://trellis@db:5432/trellis", webExecutes: false, mapCalls: 64 });
  });

  it("lets a web process execute runs too only when TRELLIS_WEB_EXECUTES says so", () => {
    const cluster = { TRELLIS_EXECUTOR: "cluster", DATABASE_URL: "postgres://trellis@db:5432/trellis" };
    expect(readServerConfig(env({ ...cluster, TRELLIS_WEB_EXECUTES: "1" })).executor).toMatchObject({ webExecutes: true });
    expect(readServerConfig(env({ ...cluster, TRELLIS_WEB_EXECUTES: "0" })).executor).toMatchObject({ webExecutes: false });
  });

  it("limits the map calls' queue on the cluster and per process, defaulting to the server's model-call limit, and refuses a limit that holds every call", () => {
    const cluster = { TRELLIS_EXECUTOR: "cluster", DATABASE_URL: "postgres://trellis@db:5432/trellis" };
    expect(readServerConfig(env({ ...cluster, TRELLIS_MAX_CONCURRENT_MODEL_CALLS: "12" })).executor).toMatchObject({ mapCalls: 12 });
    const set = readServerConfig(env({ ...cluster, TRELLIS_MAX_CONCURRENT_MAP_CALLS: "3", TRELLIS_MAP_CALLS_PER_PROCESS: "2" })).executor;
    expect(set).toMatchObject({ mapCalls: 3, mapCallsPerProcess: 2 });
    expect(() => readServerConfig(env({ ...cluster, TRELLIS_MAX_CONCURRENT_MAP_CALLS: "0" }))).toThrow(/TRELLIS_MAX_CONCURRENT_MAP_CALLS must be a whole number of at least 1 \(got "0"\)/);
    expect(() => readServerConfig(env({ ...cluster, TRELLIS_MAP_CALLS_PER_PROCESS: "1.5" }))).toThrow(/TRELLIS_MAP_CALLS_PER_PROCESS must be a whole number/);
  });

  it("refuses an executor it does not know", () => {
    expect(() => readServerConfig(env({ TRELLIS_EXECUTOR: "bullmq" }))).toThrow(/TRELLIS_EXECUTOR must be "in-process" or "cluster"/);
  });
});
