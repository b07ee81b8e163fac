import "server-only";
import { z } from "zod";
import type { RunLimits } from "@/lib/workflow/limits";
import type { DemoFault, DemoSettings } from "./models/demo";

/**
 * The one place that reads the environment. Keys and base URLs live here and in the model
 * registry only; they never reach documents, events, errors or the browser.
 */

/**
 * `models` is the provider's allowlist: only these ids run. `anyModel` (TRELLIS_ALLOW_ANY_MODEL, and
 * only when the operator set no list) lets any well-formed model name of the provider run.
 */
export type ProviderConfig = { apiKey: string; models: string[]; anyModel?: boolean; baseURL?: string };
export type CompatibleConfig = { name: string; baseURL: string; apiKey?: string; models: string[]; anyModel?: boolean };

/** `local`: loopback only, no sign-in. `team`: sign-in required to create, edit and run. */
export type TrellisMode = "local" | "team";

export type OAuthClient = { clientId: string; clientSecret: string };

export type SecurityConfig = {
  mode: TrellisMode;
  /** The public origin (team mode): what sign-in redirects to and the one Host this server answers. */
  origin?: string;
  /** Signs sessions and browser identities; required in team mode. */
  authSecret?: string;
  /** Sign-up without an invite for addresses at these domains (lowercase, no "@"). */
  allowedEmailDomains: string[];
  /** Reverse proxies (IPs or CIDR ranges) whose X-Forwarded-For entries are believed. */
  trustedProxies: string[];
  github?: OAuthClient;
  google?: OAuthClient;
  oidc?: OAuthClient & { discoveryUrl: string; name: string };
};

/** Admission control: enforced in the database, so every process sharing it agrees. */
export type AdmissionConfig = {
  /** Runs in progress on the whole server (every process). */
  maxConcurrentRuns: number;
  /** Model calls in flight on the whole server: each run reserves its concurrency out of these. */
  maxConcurrentModelCalls: number;
  /** Runs in progress per account (team) or browser (local). */
  maxRunsPerIdentity: number;
  /** Tokens an account (or browser) may spend a day in its own runs; 0 = no daily budget. */
  dailyTokens: number;
  /** Tokens all visitors' runs of one owner's shared links may spend a day; 0 = no daily budget. */
  sharedDailyTokens: number;
};

/**
 * Where runs execute: `in-process` in the web process that admitted them (the default, and the
 * only one with PGlite), or `cluster`: durable workflows on the PostgreSQL of DATABASE_URL that
 * any web or worker process sharing it can run, follow and cancel (README, "Cluster mode").
 */
export type ExecutorConfig =
  | { kind: "in-process" }
  | {
      kind: "cluster";
      databaseUrl: string;
      /** TRELLIS_WEB_EXECUTES: a web process (`npm start`) also takes runs from the queue, like a worker. Off by default. */
      webExecutes: boolean;
      /**
       * The queue of map instances' model calls, which any worker takes (docs/cluster.md): at most
       * `mapCalls` in flight on the whole cluster (TRELLIS_MAX_CONCURRENT_MAP_CALLS, default the
       * server's model-call limit) and `mapCallsPerProcess` in one process
       * (TRELLIS_MAP_CALLS_PER_PROCESS; unset = no limit of its own).
       */
      mapCalls: number;
      mapCallsPerProcess?: number;
    };

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
  /** Events a replay page comes with; the rest load in pages of this size. */
  replayPageEvents: number;
  security: SecurityConfig;
  admission: AdmissionConfig;
  executor: ExecutorConfig;
  /** TRELLIS_PRICES: the price table for evaluation cost estimates — inline JSON or a file path (lib/workflow/eval/cost.ts reads it). */
  prices?: string;
};

/** What the model registry needs from the configuration. */
export type ModelConfig = Pick<ServerConfig, "openai" | "anthropic" | "google" | "compatible" | "demo" | "limits" | "coalesceMs">;

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

function url(env: NodeJS.ProcessEnv, name: string, example: string): string | undefined {
  const raw = env[name];
  if (!raw) return undefined;
  try {
    new URL(raw);
  } catch {
    throw new ConfigError(name, `must be a URL such as ${example}`);
  }
  return raw;
}

const flag = (value: string | undefined) => value === "1" || value?.toLowerCase() === "true";

function oauth(env: NodeJS.ProcessEnv, prefix: string): OAuthClient | undefined {
  const clientId = env[`${prefix}_CLIENT_ID`];
  const clientSecret = env[`${prefix}_CLIENT_SECRET`];
  if (!clientId && !clientSecret) return undefined;
  if (!clientId || !clientSecret) throw new ConfigError(`${prefix}_CLIENT_ID and ${prefix}_CLIENT_SECRET`, "must be set together");
  return { clientId, clientSecret };
}

function security(env: NodeJS.ProcessEnv): SecurityConfig {
  const mode = env.TRELLIS_MODE || "local";
  if (mode !== "local" && mode !== "team") throw new ConfigError("TRELLIS_MODE", `must be "local" or "team" (got "${mode}")`);
  let origin: string | undefined;
  if (env.TRELLIS_ORIGIN) {
    let parsed: URL;
    try {
      parsed = new URL(env.TRELLIS_ORIGIN);
    } catch {
      throw new ConfigError("TRELLIS_ORIGIN", "must be the public origin, such as https://trellis.example.com");
    }
    if ((parsed.protocol !== "https:" && parsed.protocol !== "http:") || parsed.pathname !== "/" || parsed.search || parsed.username || parsed.password) {
      throw new ConfigError("TRELLIS_ORIGIN", "must be an origin only (scheme, host and port), such as https://trellis.example.com");
    }
    origin = parsed.origin;
  }
  const authSecret = env.TRELLIS_AUTH_SECRET || undefined;
  if (authSecret && authSecret.length < 32) throw new ConfigError("TRELLIS_AUTH_SECRET", "must be at least 32 characters (e.g. `openssl rand -base64 32`)");
  if (mode === "team") {
    if (!origin) throw new ConfigError("TRELLIS_ORIGIN", "is required in team mode: the public origin people open, such as https://trellis.example.com");
    if (!authSecret) throw new ConfigError("TRELLIS_AUTH_SECRET", "is required in team mode (at least 32 random characters, e.g. `openssl rand -base64 32`)");
  }
  const oidcUrl = url(env, "OIDC_DISCOVERY_URL", "https://id.example.com/.well-known/openid-configuration");
  const oidcClient = oauth(env, "OIDC");
  if (Boolean(oidcUrl) !== Boolean(oidcClient)) throw new ConfigError("OIDC_DISCOVERY_URL, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET", "must be set together");
  return {
    mode,
    origin,
    authSecret,
    allowedEmailDomains: list(env.TRELLIS_ALLOWED_EMAIL_DOMAINS, []).map((domain) => domain.replace(/^@/, "").toLowerCase()),
    trustedProxies: list(env.TRELLIS_TRUSTED_PROXIES, []),
    github: oauth(env, "GITHUB"),
    google: oauth(env, "GOOGLE"),
    oidc: oidcUrl && oidcClient ? { ...oidcClient, discoveryUrl: oidcUrl, name: env.OIDC_NAME || "single sign-on" } : undefined,
  };
}

/**
 * Every configured value that must never leave the server: keys, client secrets, the auth secret,
 * base URLs (and their hosts and any credentials in them), the database URL. Errors are scrubbed
 * of all of them before they are stored or sent.
 */
export function secretsOf(config: ServerConfig, env: NodeJS.ProcessEnv = process.env): string[] {
  const urls = [config.openai?.baseURL, config.anthropic?.baseURL, config.google?.baseURL, config.compatible?.baseURL, config.databaseUrl, config.security.oidc?.discoveryUrl];
  const values = [
    config.openai?.apiKey,
    config.anthropic?.apiKey,
    config.google?.apiKey,
    config.compatible?.apiKey,
    config.security.authSecret,
    config.security.github?.clientSecret,
    config.security.google?.clientSecret,
    config.security.oidc?.clientSecret,
    // Whatever the SDKs might read by themselves.
    env.OPENAI_API_KEY,
    env.ANTHROPIC_API_KEY,
    env.GOOGLE_GENERATIVE_AI_API_KEY,
  ];
  for (const raw of urls) {
    if (!raw) continue;
    values.push(raw, raw.replace(/\/+$/, ""));
    try {
      const parsed = new URL(raw);
      values.push(parsed.host, parsed.username, parsed.password && decodeURIComponent(parsed.password), parsed.password);
      // The host alone (an error may say "connect ECONNREFUSED 10.0.0.5:8080" or name it in a URL).
      if (parsed.hostname.length >= 4) values.push(parsed.hostname);
    } catch {
      // Not a URL: the value itself is already listed.
    }
  }
  // Longest first, so a URL is replaced whole before its host is.
  return [...new Set(values.filter((value): value is string => typeof value === "string" && value.length >= 3))].sort((a, b) => b.length - a.length);
}

function executor(env: NodeJS.ProcessEnv, modelCalls: number): ExecutorConfig {
  const kind = env.TRELLIS_EXECUTOR || "in-process";
  if (kind === "in-process") return { kind };
  if (kind !== "cluster") throw new ConfigError("TRELLIS_EXECUTOR", `must be "in-process" or "cluster" (got "${kind}")`);
  // Durable runs live in PostgreSQL; PGlite is one process's file and cannot be shared.
  if (!env.DATABASE_URL) throw new ConfigError("TRELLIS_EXECUTOR=cluster", "needs DATABASE_URL: the PostgreSQL that every web and worker process shares (postgres://user:password@host:5432/db)");
  const mapCalls = whole(env, "TRELLIS_MAX_CONCURRENT_MAP_CALLS") ?? modelCalls;
  const mapCallsPerProcess = whole(env, "TRELLIS_MAP_CALLS_PER_PROCESS");
  return { kind, databaseUrl: env.DATABASE_URL, webExecutes: flag(env.TRELLIS_WEB_EXECUTES), mapCalls, ...(mapCallsPerProcess !== undefined ? { mapCallsPerProcess } : {}) };
}

/** A limit of at least 1 (a queue with no room would hold every call forever). */
function whole(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const value = number(env, name);
  if (value !== undefined && (!Number.isInteger(value) || value < 1)) throw new ConfigError(name, `must be a whole number of at least 1 (got "${env[name]}")`);
  return value;
}

const RESERVED_PROVIDERS = new Set(["openai", "anthropic", "google", "demo"]);

let securityOnce: SecurityConfig | undefined;
/** This process's security settings, read once: the environment does not change while it runs, and parsing the whole configuration costs about 0.3 ms (issue 12). */
export const securityConfig = (): SecurityConfig => (securityOnce ??= readServerConfig().security);

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
    replayPageEvents: Math.max(1, Math.floor(number(env, "TRELLIS_REPLAY_PAGE_EVENTS", 500)!)),
    security: security(env),
    admission: {
      maxConcurrentRuns: number(env, "TRELLIS_MAX_CONCURRENT_RUNS", 20)!,
      maxConcurrentModelCalls: number(env, "TRELLIS_MAX_CONCURRENT_MODEL_CALLS", 64)!,
      maxRunsPerIdentity: number(env, "TRELLIS_MAX_RUNS_PER_IDENTITY", 4)!,
      dailyTokens: number(env, "TRELLIS_DAILY_TOKENS", 5_000_000)!,
      sharedDailyTokens: number(env, "TRELLIS_SHARED_DAILY_TOKENS", 500_000)!,
    },
    executor: executor(env, Math.max(1, Math.floor(number(env, "TRELLIS_MAX_CONCURRENT_MODEL_CALLS", 64)!))),
    prices: env.TRELLIS_PRICES || undefined,
  };
  // A peer must be able to miss a beat or two before its runs are taken for orphaned.
  if (config.heartbeat.everyMs < 100) throw new ConfigError("TRELLIS_HEARTBEAT_MS", "must be at least 100");
  if (config.heartbeat.staleAfterMs < 2 * config.heartbeat.everyMs) throw new ConfigError("TRELLIS_PROCESS_STALE_MS", "must be at least twice TRELLIS_HEARTBEAT_MS");
  // A provider's *_MODELS is its allowlist. Without one, the models offered are a default list and
  // only those run — unless the operator opts in to any model with TRELLIS_ALLOW_ANY_MODEL.
  const allowAny = flag(env.TRELLIS_ALLOW_ANY_MODEL);
  const provider = (apiKey: string, listed: string | undefined, fallback: string[], baseURL?: string): ProviderConfig => ({
    apiKey,
    models: list(listed, fallback),
    ...(allowAny && !listed ? { anyModel: true } : {}),
    ...(baseURL ? { baseURL } : {}),
  });
  if (env.OPENAI_API_KEY) {
    config.openai = provider(env.OPENAI_API_KEY, env.OPENAI_MODELS, ["gpt-4o-mini", "gpt-4.1-mini", "gpt-4o"], url(env, "OPENAI_BASE_URL", "https://api.openai.com/v1"));
  }
  if (env.ANTHROPIC_API_KEY) {
    config.anthropic = provider(env.ANTHROPIC_API_KEY, env.ANTHROPIC_MODELS, ["claude-3-5-haiku-latest", "claude-sonnet-4-5"], url(env, "ANTHROPIC_BASE_URL", "https://api.anthropic.com/v1"));
  }
  if (env.GOOGLE_GENERATIVE_AI_API_KEY) {
    config.google = provider(
      env.GOOGLE_GENERATIVE_AI_API_KEY,
      env.GOOGLE_MODELS,
      ["gemini-2.5-flash", "gemini-2.5-pro"],
      url(env, "GOOGLE_GENERATIVE_AI_BASE_URL", "https://generativelanguage.googleapis.com/v1beta"),
    );
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
      ...(allowAny && !env.OPENAI_COMPATIBLE_MODELS ? { anyModel: true } : {}),
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
    ["maxTokens", "TRELLIS_MAX_RUN_TOKENS"],
  ];
  for (const [key, variable] of limitVariables) {
    const value = number(env, variable);
    if (value !== undefined) config.limits[key] = value;
  }
  return config;
}
