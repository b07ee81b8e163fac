import { describe, expect, it } from "vitest";
import { ConfigError, readServerConfig } from "./config";

const env = (variables: Record<string, string>) => ({ NODE_ENV: "test", ...variables }) as NodeJS.ProcessEnv;

describe("server configuration: process heartbeats", () => {
  it("beats every 10 s and allows a PostgreSQL peer 30 s of silence by default", () => {
    expect(readServerConfig(env({})).heartbeat).toEqual({ everyMs: 10_000, staleAfterMs: 30_000 });
    expect(readServerConfig(env({ TRELLIS_HEARTBEAT_MS: "500", TRELLIS_PROCESS_STALE_MS: "2000" })).heartbeat).toEqual({ everyMs: 500, staleAfterMs: 2_000 });
  });

  it("refuses a stale window that a single late beat would exceed", () => {
    expect(() => readServerConfig(env({ TRELLIS_HEARTBEAT_MS: "10000", TRELLIS_PROCESS_STALE_MS: "15000" }))).toThrow(ConfigError);
    expect(() => readServerConfig(env({ TRELLIS_HEARTBEAT_MS: "10" }))).toThrow(/TRELLIS_HEARTBEAT_MS must be at least 100/);
  });
});

describe("server configuration: run retention", () => {
  it("keeps run events for good unless TRELLIS_RUN_RETENTION_DAYS says otherwise", () => {
    expect(readServerConfig(env({})).runRetentionDays).toBeUndefined();
    expect(readServerConfig(env({ TRELLIS_RUN_RETENTION_DAYS: "30" })).runRetentionDays).toBe(30);
    expect(() => readServerConfig(env({ TRELLIS_RUN_RETENTION_DAYS: "a week" }))).toThrow(/TRELLIS_RUN_RETENTION_DAYS must be a non-negative number/);
  });

  it("ships replays in pages of 500 events unless TRELLIS_REPLAY_PAGE_EVENTS says otherwise (at least 1)", () => {
    expect(readServerConfig(env({})).replayPageEvents).toBe(500);
    expect(readServerConfig(env({ TRELLIS_REPLAY_PAGE_EVENTS: "10" })).replayPageEvents).toBe(10);
    expect(readServerConfig(env({ TRELLIS_REPLAY_PAGE_EVENTS: "0" })).replayPageEvents).toBe(1);
  });
});
