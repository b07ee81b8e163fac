import "server-only";
import { z } from "zod";
import type { RunLimits } from "@/lib/workflow/limits";
import type { DemoFault, DemoSettings } from "./models/demo";

/**
 * The one place that reads the environment. Keys and base URLs live here and in the model
 * registry only; they never reach documents, events, errors or the browser.
 */

export type ProviderConfig = { apiKey: string; models: string[] };
export type CompatibleConfig = { name: string; baseURL: string; apiKey?: string; models: string[] };

export type ServerConfig = {
  openai?: ProviderConfig;
  anthropic?: ProviderConfig;
  google?: ProviderConfig;
  compatible?: CompatibleConfig;
  demo: DemoSettings;
  limits: Partial<RunLimits>;
  /** Deltas of one node arriving within this window are sent and recorded as one event (0 = off). */
  coalesceMs: number;
  /** PostgreSQL when set; otherwise embedded PGlite in `dataDir`. */
  databaseUrl?: string;
  dataDir: string;
  /** Runs each identity may start per minute (editor), and per visitor on a shared link. */
  rates: { runsPerMinute: number; sharedRunsPerMinute: number };
  /** How often a process beats, and how long a PostgreSQL peer may stay silent before its running runs are interrupted. */
  heartbeat: { everyMs: number; staleAfterMs: number };
  /** Days a finished run keeps its events (its row and result stay for good); undefined keeps them for good. */
  runRetentionDays?: number;
};

/** What the model registry needs from the configuration. */
export type ModelConfig = Omit<ServerConfig, "databaseUrl" | "dataDir" | "rates" | "heartbeat" | "runRetentionDays">;

const list = (value: string | undefined, fallback: string[]) =>
  value
    ? value
        .split(",")
        .map((item) => item.trim())
        .filter(Boolean)
    : fallback;

const FaultsSchema = z.array(
  z.strictObject({
    kind: z.enum(["rate-limit", "server-error", "hang", "cut"]),
    match: z.string().optional(),
    times: z.number().int().min(0).optional(),
    retryAfterSeconds: z.number().min(0).optional(),
  }),
);

export class ConfigError extends Error {
  constructor(variable: string, problem: string) {
    super(`${variable} ${problem}`);
    this.name = "ConfigError";
  }
}

function number(env: NodeJS.ProcessEnv, name: string, fallback?: number): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new ConfigError(name, `must be a non-negative number (got "${raw}")`);
  return value;
}

function faults(env: NodeJS.ProcessEnv): DemoFault[] | undefined {
  const raw = env.TRELLIS_DEMO_FAULTS;
  if (!raw) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new ConfigError("TRELLIS_DEMO_FAULTS", "must be a JSON array of faults");
  }
  const parsed = FaultsSchema.safeParse(value);
  if (!parsed.success) throw new ConfigError("TRELLIS_DEMO_FAULTS", `is not a list of faults: ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}

const RESERVED_PROVIDERS = new Set(["openai", "anthropic", "google", "demo"]);

export function readServerConfig(env: NodeJS.ProcessEnv = process.env): ServerConfig {
  const config: ServerConfig = {
    demo: {
      firstTokenDelayMs: number(env, "TRELLIS_DEMO_FIRST_TOKEN_MS", 350)!,
      chunkDelayMs: number(env, "TRELLIS_DEMO_CHUNK_MS", 40)!,
      faults: faults(env),
    },
    limits: {},
    coalesceMs: number(env, "TRELLIS_COALESCE_MS", 30)!,
    databaseUrl: env.DATABASE_URL || undefined,
    dataDir: env.TRELLIS_DATA_DIR || ".data/pglite",
    rates: {
      runsPerMinute: number(env, "TRELLIS_RUNS_PER_MINUTE", 30)!,
      sharedRunsPerMinute: number(env, "TRELLIS_SHARED_RUNS_PER_MINUTE", 5)!,
    },
    heartbeat: {
      everyMs: number(env, "TRELLIS_HEARTBEAT_MS", 10_000)!,
      staleAfterMs: number(env, "TRELLIS_PROCESS_STALE_MS", 30_000)!,
    },
    runRetentionDays: number(env, "TRELLIS_RUN_RETENTION_DAYS"),
  };
  // A peer must be able to miss a beat or two before its runs are taken for orphaned.
  if (config.heartbeat.everyMs < 100) throw new ConfigError("TRELLIS_HEARTBEAT_MS", "must be at least 100");
  if (config.heartbeat.staleAfterMs < 2 * config.heartbeat.everyMs) throw new ConfigError("TRELLIS_PROCESS_STALE_MS", "must be at least twice TRELLIS_HEARTBEAT_MS");
  if (env.OPENAI_API_KEY) config.openai = { apiKey: env.OPENAI_API_KEY, models: list(env.OPENAI_MODELS, ["gpt-4o-mini", "gpt-4.1-mini", "gpt-4o"]) };
  if (env.ANTHROPIC_API_KEY) {
    config.anthropic = { apiKey: env.ANTHROPIC_API_KEY, models: list(env.ANTHROPIC_MODELS, ["claude-3-5-haiku-latest", "claude-sonnet-4-5"]) };
  }
  if (env.GOOGLE_GENERATIVE_AI_API_KEY) {
    config.google = { apiKey: env.GOOGLE_GENERATIVE_AI_API_KEY, models: list(env.GOOGLE_MODELS, ["gemini-2.5-flash", "gemini-2.5-pro"]) };
  }
  if (env.OPENAI_COMPATIBLE_BASE_URL) {
    const name = env.OPENAI_COMPATIBLE_NAME || "local";
    if (!/^[a-z][a-z0-9-]*$/.test(name) || RESERVED_PROVIDERS.has(name)) {
      throw new ConfigError("OPENAI_COMPATIBLE_NAME", `must be a lowercase provider name other than ${[...RESERVED_PROVIDERS].join(", ")}`);
    }
    try {
      new URL(env.OPENAI_COMPATIBLE_BASE_URL);
    } catch {
      throw new ConfigError("OPENAI_COMPATIBLE_BASE_URL", "must be a URL such as http://127.0.0.1:11434/v1");
    }
    config.compatible = {
      name,
      baseURL: env.OPENAI_COMPATIBLE_BASE_URL,
      apiKey: env.OPENAI_COMPATIBLE_API_KEY || undefined,
      models: list(env.OPENAI_COMPATIBLE_MODELS, []),
    };
  }
  const limitVariables: Array<[keyof RunLimits, string]> = [
    ["maxNodes", "TRELLIS_MAX_NODES"],
    ["maxMapItems", "TRELLIS_MAX_MAP_ITEMS"],
    ["maxConcurrency", "TRELLIS_MAX_CONCURRENCY"],
    ["maxLoopIterations", "TRELLIS_MAX_LOOP_ITERATIONS"],
    ["maxTotalLoopIterations", "TRELLIS_MAX_TOTAL_LOOP_ITERATIONS"],
    ["maxModelCalls", "TRELLIS_MAX_MODEL_CALLS"],
    ["maxWallTimeMs", "TRELLIS_MAX_WALL_TIME_MS"],
    ["firstTokenTimeoutMs", "TRELLIS_FIRST_TOKEN_TIMEOUT_MS"],
    ["idleTimeoutMs", "TRELLIS_IDLE_TIMEOUT_MS"],
  ];
  for (const [key, variable] of limitVariables) {
    const value = number(env, variable);
    if (value !== undefined) config.limits[key] = value;
  }
  return config;
}
