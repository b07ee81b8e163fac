import "server-only";
import { APICallError, type JSONSchema7, type LanguageModelV4Prompt, type LanguageModelV4StreamPart } from "@ai-sdk/provider";
import { codeForStatus, ModelError, parseRetryAfter, SETTLES_ON_RETURN, type ModelCall, type Embeddings, type ModelChunk, type ModelPort } from "@/lib/workflow/engine/model-port";
import type { ModelRegistry } from "./registry";

/**
 * Adapts AI SDK providers to the engine's model port. The engine owns retries, backoff and
 * timeouts, so nothing here retries. Errors leave here as ModelError with keys and base URLs
 * scrubbed from their messages.
 */

const KEY_PATTERNS = [
  /sk-[A-Za-z0-9_-]{8,}/g,
  /AIza[0-9A-Za-z_-]{20,}/g,
  /\b(?:api[_-]?key|x-goog-api-key|access[_-]?token|refresh[_-]?token|password|secret|authorization)\b["']?\s*[:=]\s*["']?[^\s"',;}]+/gi,
  /\bbearer\s+[^\s"',;}]+/gi,
  /\bbasic\s+[A-Za-z0-9+/=]{8,}/gi,
];
/** Any URL (with or without credentials) and any address with a port: a provider error names neither. */
const URL_PATTERN = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>)\]]+/gi;
const ADDRESS_PATTERN = /(\b\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-f:]+\]|\blocalhost)(?::\d{1,5})?\b/gi;
const HOST_PORT_PATTERN = /\b[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+:\d{1,5}\b/gi;

/**
 * Makes an error text safe to store and show: every configured secret (keys, base URLs and their
 * hosts, credentials) is replaced, then anything shaped like a key, a URL or a network address.
 */
export function scrub(text: string, secrets: ReadonlyArray<string>): string {
  const out = redact(text, secrets).replace(URL_PATTERN, "[url]").replace(ADDRESS_PATTERN, "[address]").replace(HOST_PORT_PATTERN, "[address]");
  return out.length > 300 ? `${out.slice(0, 300)}…` : out;
}

/** Replaces every configured secret and anything shaped like a key; the rest of the text is kept whole. */
export function redact(text: string, secrets: ReadonlyArray<string>): string {
  let out = text;
  for (const secret of secrets) if (secret && out.includes(secret)) out = out.split(secret).join("[redacted]");
  for (const pattern of KEY_PATTERNS) out = out.replace(pattern, "[redacted]");
  return out;
}

function isAbort(error: unknown): boolean {
  return error instanceof Error && (error.name === "AbortError" || error.name === "ResponseAborted");
}

/** The system error code of a failed connection (ECONNREFUSED, ENOTFOUND…), never its message, which names the host. */
function networkCode(error: unknown): string | undefined {
  for (let current: unknown = error, depth = 0; current && depth < 5; current = (current as { cause?: unknown }).cause, depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string" && /^E[A-Z_]+$/.test(code)) return code;
  }
  return undefined;
}

const STATUS_MEANING: Record<string, string> = {
  auth: "the provider refused this server's credentials",
  "not-found": "the provider does not know this model or endpoint",
  "rate-limited": "the provider is rate-limiting this server",
  overloaded: "the provider is overloaded",
  "server-error": "the provider failed",
  "bad-request": "the provider refused the request",
};

/**
 * A provider failure as the engine sees it: a code, whether to retry, and a message naming the
 * HTTP status and what it means (the engine adds the provider and model) — never a URL, a host or
 * a key. The provider's own explanation is kept only for a bad request (it says what to change),
 * scrubbed.
 */
export function toModelError(error: unknown, secrets: ReadonlyArray<string>): Error {
  if (error instanceof ModelError || isAbort(error)) return error as Error;
  if (APICallError.isInstance(error)) {
    const status = error.statusCode;
    if (status === undefined) {
      const code = networkCode(error);
      return new ModelError("network", `could not reach the provider${code ? ` (${code})` : ""}`, { retryable: true });
    }
    const retryAfter = parseRetryAfter(error.responseHeaders?.["retry-after"] ?? error.responseHeaders?.["Retry-After"]);
    const code = codeForStatus(status);
    const detail = code === "bad-request" ? `: ${scrub(error.message, secrets).slice(0, 200)}` : "";
    return new ModelError(code, `${STATUS_MEANING[code] ?? "the provider failed"} (HTTP ${status})${detail}`, {
      status,
      retryAfterMs: retryAfter,
      // Providers mark overload in-band too (e.g. Anthropic's 529 or an "overloaded_error" body).
      retryable: error.isRetryable || code === "rate-limited" || code === "overloaded" || code === "server-error",
    });
  }
  const cause = (error as { cause?: unknown })?.cause;
  if (cause && cause !== error) {
    const mapped = toModelError(cause, secrets);
    if (mapped instanceof ModelError) return mapped;
  }
  const message = error instanceof Error ? error.message : String(error);
  if (/overloaded/i.test(message)) return new ModelError("overloaded", "the provider is overloaded", { retryable: true });
  const code = networkCode(error);
  if (code || /fetch failed|ECONNRESET|socket hang up|network/i.test(message)) {
    return new ModelError("network", `could not reach the provider${code ? ` (${code})` : ""}`, { retryable: true });
  }
  // A request the runtime refused to build (e.g. a base URL with credentials) names its URL: scrubbed.
  return new ModelError("unknown", scrub(message, secrets), { retryable: false });
}

/** The engine's call as the provider specification's prompt: a system message, then the user's text. */
function providerPrompt(call: ModelCall): LanguageModelV4Prompt {
  const user: LanguageModelV4Prompt[number] = { role: "user", content: [{ type: "text", text: call.prompt }] };
  return call.system ? [{ role: "system", content: call.system }, user] : [user];
}

/**
 * Calls the provider's own stream (`doStream`, the language model specification) rather than
 * the SDK's `streamText`: the engine already owns retries, timeouts, structured-output parsing
 * and events, and streamText's per-part work cost about fifty times the provider's own per token
 * (`npm run bench:tokens`). With a schema, the provider is asked for JSON (`responseFormat`) and
 * its text is the object's JSON text, which the engine parses once at the end.
 */
/** What a failed provider call throws: an AbortError when the caller cancelled it, else the mapped ModelError. */
function providerFailure(error: unknown, signal: AbortSignal, secrets: ReadonlyArray<string>): Error {
  if (!signal.aborted) return toModelError(error, secrets);
  const aborted = new Error("The operation was aborted.");
  aborted.name = "AbortError";
  return aborted;
}

type StreamPart = LanguageModelV4StreamPart;
type Finish = Extract<ModelChunk, { type: "finish" }>;
const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

/**
 * One call's chunks from the provider's own stream: its text deltas as they come, then its finish
 * (none when the stream was cut: the engine turns that into a failure). Failures leave as
 * providerFailure's errors. Stopped early (cancel, timeout, failure), it lets the provider close
 * its connection without waiting for it.
 *
 * An iterator rather than an async generator: each chunk then costs the stream's read and one
 * mapping, not a generator's resumption, its yield and its await as well — two of the sixteen or so
 * promises a streamed chunk made, which every promise in a Next.js process pays async hooks for
 * (issue 12).
 */
class ProviderChunks implements AsyncIterator<ModelChunk> {
  /**
   * `return()` settles a step in flight at once: a read, because cancelling the reader ends its
   * pending reads whatever the provider does; the call itself, because it is raced (once a call)
   * against the return. So the engine's watchdog returns this iterator rather than racing each
   * chunk (SETTLES_ON_RETURN).
   */
  readonly [SETTLES_ON_RETURN] = true;
  private reader: ReadableStreamDefaultReader<StreamPart> | undefined;
  private finish: Finish | undefined;
  private ended = false;
  /** Settles the call in flight as abandoned (return() during `open`). */
  private abandon: (() => void) | undefined;
  private readonly map = (result: ReadableStreamReadResult<StreamPart>): IteratorResult<ModelChunk> | Promise<IteratorResult<ModelChunk>> => {
    if (result.done) {
      this.reader = undefined;
      return this.end();
    }
    const part = result.value;
    if (part.type === "text-delta") {
      if (part.delta) return { done: false, value: { type: "text", delta: part.delta } };
    } else if (part.type === "error") {
      return this.fail(part.error);
    } else if (part.type === "finish") {
      this.finish = {
        type: "finish",
        finishReason: part.finishReason.unified,
        usage: { inputTokens: part.usage.inputTokens.total ?? 0, outputTokens: part.usage.outputTokens.total ?? 0 },
      };
    }
    return this.read();
  };
  private readonly fail = (error: unknown): never => {
    this.stop();
    throw providerFailure(error, this.signal, this.secrets);
  };

  constructor(
    private readonly registry: ModelRegistry,
    private readonly secrets: ReadonlyArray<string>,
    private readonly call: ModelCall,
    private readonly signal: AbortSignal,
  ) {}

  next(): Promise<IteratorResult<ModelChunk>> {
    if (this.ended) return Promise.resolve(DONE);
    if (this.reader) return this.read();
    return this.open().then(() => (this.reader ? this.read() : DONE));
  }

  return(): Promise<IteratorResult<ModelChunk>> {
    this.stop();
    return Promise.resolve(DONE);
  }

  private async open(): Promise<void> {
    const resolved = this.registry.resolve(this.call.model);
    if (!resolved.ok) {
      this.ended = true;
      throw new ModelError("not-found", `${resolved.code}: ${resolved.message}`, { retryable: false });
    }
    const { call, signal } = this;
    let calling: ReturnType<typeof resolved.model.doStream>;
    try {
      calling = resolved.model.doStream({
        prompt: providerPrompt(call),
        temperature: call.temperature,
        maxOutputTokens: call.maxOutputTokens,
        responseFormat: call.schema ? { type: "json", schema: call.schema as JSONSchema7, name: call.schemaName } : undefined,
        abortSignal: signal,
      });
    } catch (error) {
      return this.fail(error);
    }
    const abandoned = new Promise<undefined>((resolve) => (this.abandon = () => resolve(undefined)));
    try {
      const opened = await Promise.race([calling, abandoned]);
      this.abandon = undefined;
      if (!opened || this.ended) {
        // Left while the call was being made: close the stream it opens, whenever it does.
        void calling.then(({ stream }) => stream.cancel().catch(() => undefined), () => undefined);
        return;
      }
      this.reader = opened.stream.getReader();
    } catch (error) {
      this.fail(error);
    }
  }

  private read(): Promise<IteratorResult<ModelChunk>> {
    return this.reader!.read().then(this.map, this.fail);
  }

  /** The provider's stream ended: its finish, once, then done. */
  private end(): IteratorResult<ModelChunk> {
    this.ended = true;
    const finish = this.finish;
    this.finish = undefined;
    if (!finish) return DONE;
    // The finish is the last chunk: the next call answers done.
    return { done: false, value: finish };
  }

  /** No more chunks: cancel the provider's stream if it is still open, without waiting for it. */
  private stop(): void {
    this.ended = true;
    this.reader?.cancel().catch(() => undefined);
    this.reader = undefined;
    this.abandon?.();
  }
}

export function createModelPort(registry: ModelRegistry): ModelPort {
  const secrets = registry.secrets();
  return {
    stream(call: ModelCall, signal: AbortSignal): AsyncIterable<ModelChunk> {
      return { [Symbol.asyncIterator]: () => new ProviderChunks(registry, secrets, call, signal) };
    },

    /**
     * Embeddings through the provider's own `doEmbed`, batched by what the model takes per call;
     * nothing here retries. The tokens are reported when every batch's answer counted them.
     */
    async embed(model: string, texts: string[], signal: AbortSignal): Promise<Embeddings> {
      const resolved = registry.resolveEmbedding(model);
      if (!resolved.ok) throw new ModelError("not-found", `${resolved.code}: ${resolved.message}`, { retryable: false });
      const vectors: number[][] = [];
      let tokens: number | undefined = 0;
      try {
        const perCall = (await resolved.model.maxEmbeddingsPerCall) ?? texts.length;
        const size = Number.isFinite(perCall) && perCall > 0 ? perCall : texts.length;
        for (let at = 0; at < texts.length; at += size) {
          const { embeddings, usage } = await resolved.model.doEmbed({ values: texts.slice(at, at + size), abortSignal: signal });
          vectors.push(...embeddings);
          tokens = tokens !== undefined && usage && Number.isFinite(usage.tokens) ? tokens + usage.tokens : undefined;
        }
      } catch (error) {
        throw providerFailure(error, signal, secrets);
      }
      return tokens === undefined ? { embeddings: vectors } : { embeddings: vectors, usage: { inputTokens: tokens, outputTokens: 0 } };
    },
  };
}
