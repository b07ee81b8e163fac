import "server-only";
import { APICallError } from "@ai-sdk/provider";
import { jsonSchema, Output, streamText } from "ai";
import { codeForStatus, ModelError, parseRetryAfter, type ModelCall, type ModelChunk, type ModelPort } from "@/lib/workflow/engine/model-port";
import type { ModelRegistry } from "./registry";

/**
 * Adapts AI SDK providers to the engine's model port. SDK retries are off (`maxRetries: 0`):
 * the engine owns retries, backoff and timeouts. Errors leave here as ModelError with keys
 * and base URLs scrubbed from their messages.
 */

const KEY_PATTERNS = [/sk-[A-Za-z0-9_-]{8,}/g, /AIza[0-9A-Za-z_-]{20,}/g, /(api[_-]?key|authorization|bearer)\s*[:=]?\s*\S+/gi];

export function scrub(text: string, secrets: ReadonlyArray<string>): string {
  let out = text;
  for (const secret of secrets) if (secret) out = out.split(secret).join("[redacted]");
  for (const pattern of KEY_PATTERNS) out = out.replace(pattern, "[redacted]");
  return out.length > 500 ? `${out.slice(0, 500)}…` : out;
}

function isAbort(error: unknown): boolean {
  return error instanceof Error && (error.name === "AbortError" || error.name === "ResponseAborted");
}

export function toModelError(error: unknown, secrets: ReadonlyArray<string>): Error {
  if (error instanceof ModelError || isAbort(error)) return error as Error;
  if (APICallError.isInstance(error)) {
    const status = error.statusCode;
    if (status === undefined) return new ModelError("network", scrub(`could not reach the provider: ${error.message}`, secrets), { retryable: true });
    const retryAfter = parseRetryAfter(error.responseHeaders?.["retry-after"] ?? error.responseHeaders?.["Retry-After"]);
    const code = codeForStatus(status);
    return new ModelError(code, scrub(`the provider answered HTTP ${status}: ${error.message}`, secrets), {
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
  if (/overloaded/i.test(message)) return new ModelError("overloaded", scrub(message, secrets), { retryable: true });
  if (/fetch failed|ECONNRESET|socket hang up|network/i.test(message)) return new ModelError("network", scrub(message, secrets), { retryable: true });
  return new ModelError("unknown", scrub(message, secrets), { retryable: false });
}

export function createModelPort(registry: ModelRegistry): ModelPort {
  const secrets = registry.secrets();
  return {
    async *stream(call: ModelCall, signal: AbortSignal): AsyncIterable<ModelChunk> {
      const resolved = registry.resolve(call.model);
      if (!resolved.ok) throw new ModelError("not-found", resolved.message, { retryable: false });
      const result = streamText({
        model: resolved.model,
        system: call.system,
        prompt: call.prompt,
        temperature: call.temperature,
        maxOutputTokens: call.maxOutputTokens,
        maxRetries: 0,
        abortSignal: signal,
        output: call.schema ? Output.object({ schema: jsonSchema(call.schema), name: call.schemaName }) : undefined,
        // Errors arrive as stream parts below; the default handler would also log them with request details.
        onError: () => undefined,
      });
      let finish: Extract<ModelChunk, { type: "finish" }> | undefined;
      try {
        for await (const part of result.fullStream) {
          if (part.type === "text-delta") {
            // With a schema this is the object's JSON text: passed on as it comes, parsed once at the end.
            yield { type: "text", delta: part.text };
          } else if (part.type === "error") {
            throw part.error;
          } else if (part.type === "abort") {
            const error = new Error("The operation was aborted.");
            error.name = "AbortError";
            throw error;
          } else if (part.type === "finish") {
            // The SDK reports a stream that closed without the provider's finish as "other" with no
            // raw reason; that is a cut connection, not a short answer.
            if (part.finishReason === "other" && part.rawFinishReason === undefined) continue;
            finish = {
              type: "finish",
              finishReason: part.finishReason,
              usage: { inputTokens: part.totalUsage.inputTokens ?? 0, outputTokens: part.totalUsage.outputTokens ?? 0 },
            };
          }
        }
        if (finish && call.schema && finish.finishReason === "stop") {
          try {
            finish.object = await result.output;
          } catch (error) {
            throw new ModelError("invalid-output", scrub(`the model's answer is not valid for its schema: ${error instanceof Error ? error.message : String(error)}`, secrets), {
              retryable: false,
            });
          }
        }
      } catch (error) {
        throw toModelError(error, secrets);
      }
      // No finish part means the stream was cut: the engine turns that into a failure.
      if (finish) yield finish;
    },
  };
}
