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
    expect(readServerConfig(env({ TRELLIS_EXECUTOR: "cluster", DATABASE_URL: "postgres://trellis@db:5432/trellis" })).executor).toEqual({ kind: "cluster", databaseUrl: "postgres://trellis@db:5432/trellis", webExecutes: false });
  });

  it("lets a web process execute runs too only when TRELLIS_WEB_EXECUTES says so", () => {
    const cluster = { TRELLIS_EXECUTOR: "cluster", DATABASE_URL: "postgres://trellis@db:5432/trellis" };
    expect(readServerConfig(env({ ...cluster, TRELLIS_WEB_EXECUTES: "1" })).executor).toMatchObject({ webExecutes: true });
    expect(readServerConfig(env({ ...cluster, TRELLIS_WEB_EXECUTES: "0" })).executor).toMatchObject({ webExecutes: false });
  });

  it("refuses an executor it does not know", () => {
    expect(() => readServerConfig(env({ TRELLIS_EXECUTOR: "bullmq" }))).toThrow(/TRELLIS_EXECUTOR must be "in-process" or "cluster"/);
  });
});
