import {
  APICallError,
  type LanguageModelV4,
  type LanguageModelV4CallOptions,
  type LanguageModelV4Content,
  type LanguageModelV4GenerateResult,
  type LanguageModelV4Prompt,
  type LanguageModelV4StreamPart,
  type LanguageModelV4Usage,
} from "@ai-sdk/provider";
import { RECHECK_MARKER } from "@/lib/workflow";
import * as content from "./demo-content";
import { demoPlanObject, demoStep } from "./demo-plan";

/**
 * The built-in offline model (docs/architecture.md §4.14): a real AI SDK language model (specification v4)
 * that streams at a realistic pace, honours structured-output schemas, is deterministic per
 * prompt, and can inject faults when test configuration asks for them.
 */

export type DemoFault = {
  kind: "rate-limit" | "server-error" | "hang" | "cut";
  /** Only calls whose prompt contains this text fail (default: every call). */
  match?: string;
  /** Fail this many matching calls, then behave (default: all of them). */
  times?: number;
  /** For rate-limit: the Retry-After header, in seconds. */
  retryAfterSeconds?: number;
};

export type DemoSettings = {
  /** Delay before the first chunk. */
  firstTokenDelayMs: number;
  /** Delay between chunks (one chunk ≈ one word). */
  chunkDelayMs: number;
  faults?: DemoFault[];
};

export const DEMO_MODELS = {
  default: "Offline demo model: streams at a realistic pace",
  fast: "Offline demo model without delays",
} as const;

type JsonSchemaObject = { type?: unknown; properties?: Record<string, JsonSchemaObject>; enum?: unknown[]; items?: JsonSchemaObject };

function promptText(prompt: LanguageModelV4Prompt): { system: string; user: string } {
  let system = "";
  let user = "";
  for (const message of prompt) {
    if (message.role === "system") system += `${message.content}\n`;
    else if (message.role === "user") {
      for (const part of message.content) if (part.type === "text") user += `${part.text}\n`;
    }
  }
  return { system: system.trim(), user: user.trim() };
}

function cleanTopic(raw: string): string {
  return raw.replace(/\s+(taking|with|using|in the style|that|which|for)\b.*$/i, "").trim() || raw;
}

/** The source text a rewrite prompt quotes: everything after the first blank line. */
function quoted(user: string): string {
  const at = user.indexOf("\n\n");
  return at >= 0 ? user.slice(at + 2) : "";
}

/** Free text for a prompt, by what it asks for. */
export function demoText(system: string, user: string): string {
  const recheck = user.indexOf(RECHECK_MARKER);
  if (recheck >= 0) return content.reconciled(user.slice(recheck), cleanTopic(content.topicOf(user.slice(0, recheck))));
  const step = demoStep(user);
  if (step) return "text" in step ? step.text : demoText(system, step.prompt);
  const rng = content.mulberry32(content.hashText(`${system}\n${user}`));
  const topic = cleanTopic(content.topicOf(user));
  const asks = (pattern: RegExp) => pattern.test(system) || pattern.test(user);
  const section = /section "([^"]+)"/i.exec(user);
  if (section) {
    const description = /What it covers:\s*([^\n]+)/i.exec(user)?.[1] ?? "";
    const reportTopic = cleanTopic(/report on ([^.\n]+)/i.exec(user)?.[1] ?? topic);
    const others = [...user.matchAll(/^##\s+(.+)$/gm)].map((m) => m[1].trim());
    return content.reportSection(section[1], description, reportTopic, others, rng);
  }
  if (/storyteller/i.test(system)) return content.story(topic, rng);
  if (/poet\b/i.test(system)) return content.poem(topic, rng);
  if (/comedian/i.test(system)) return content.draftJoke(topic, rng);
  if (asks(/\bjoke\b/i) && /feedback|taking into account/i.test(user)) return content.revisedJoke(topic, rng);
  if (/funnier|wordplay/i.test(user)) return content.improvedJoke(quoted(user), topic, rng);
  if (/\btwist\b/i.test(user)) return content.twistedJoke(quoted(user), topic, rng);
  if (asks(/\bjoke\b/i)) return content.draftJoke(topic, rng);
  if (asks(/\b(poem|haiku|verse)\b/i)) return content.poem(topic, rng);
  if (asks(/\bstory\b/i)) return content.story(topic, rng);
  if (asks(/synthes|summari[sz]e|combine/i)) return content.synthesis(user, topic);
  return content.genericAnswer(user, topic, rng);
}

function fillFromSchema(schema: JsonSchemaObject | undefined, topic: string, name: string, rng: content.Rng): unknown {
  switch (schema?.type) {
    case "object": {
      const out: Record<string, unknown> = {};
      for (const [key, child] of Object.entries(schema.properties ?? {})) out[key] = fillFromSchema(child, topic, key, rng);
      return out;
    }
    case "array":
      return [0, 1, 2].map((i) => fillFromSchema(schema.items, topic, `${name} ${i + 1}`, rng));
    case "number":
    case "integer":
      return 1 + Math.floor(rng() * 9);
    case "boolean":
      return rng() < 0.5;
    default:
      if (schema?.enum?.length) return schema.enum[0];
      return `A ${name.replace(/_/g, " ")} about ${topic}.`;
  }
}

/**
 * An evaluation judge's `{ pass, reason }`: the judged text passes when it is not empty and holds
 * every phrase the rubric quotes (`mentions "Paris"`), so tests can write rubrics that pass or fail.
 */
export function demoJudgement(user: string): { pass: boolean; reason: string } {
  const rubric = /^Rubric:\s*(.*)$/m.exec(user)?.[1] ?? "";
  const judged = /Text to judge[^\n]*:\n([\s\S]*)$/.exec(user)?.[1] ?? "";
  if (!judged.trim()) return { pass: false, reason: "The text is empty." };
  const phrases = [...rubric.matchAll(/["“]([^"”]+)["”]/g)].map((m) => m[1]);
  const missing = phrases.filter((phrase) => !judged.toLowerCase().includes(phrase.toLowerCase()));
  if (missing.length) return { pass: false, reason: `It does not mention ${missing.map((m) => `"${m}"`).join(" or ")}.` };
  return { pass: true, reason: phrases.length ? `It mentions ${phrases.map((m) => `"${m}"`).join(" and ")}.` : "It meets the rubric." };
}

/** A structured answer for a schema: routes, plans, grades and judgements get pattern-appropriate values. */
export function demoObject(system: string, user: string, schema: JsonSchemaObject): unknown {
  const planned = demoPlanObject(user, schema);
  if (planned !== undefined) return planned;
  const rng = content.mulberry32(content.hashText(`${system}\n${user}\n${JSON.stringify(schema)}`));
  const props = schema.properties ?? {};
  const input = user.replace(/^Input:\s*/i, "");
  const topic = cleanTopic(content.topicOf(input));
  if (props.route?.enum?.length) {
    const routes = props.route.enum.map(String);
    const text = input.toLowerCase();
    const score = (route: string) => (text.match(new RegExp(`\\b${route.toLowerCase()}s?\\b`, "g")) ?? []).length;
    const best = routes.reduce((a, b) => (score(b) > score(a) ? b : a), routes[0]);
    return { route: best, reason: score(best) > 0 ? `The request mentions a ${best}.` : `Nothing points elsewhere, so ${best} is the closest fit.` };
  }
  if (props.grade?.enum?.length) {
    const graded = /Text to grade:\n([\s\S]*)$/.exec(user)?.[1] ?? user;
    return content.gradeJoke(graded, topic);
  }
  if (props.verdict?.enum?.length) {
    const judged = /Text to judge:\n([\s\S]*)$/.exec(user)?.[1] ?? user;
    const yes = judged.trim().length > 0 && /[?!]/.test(judged);
    return { verdict: yes ? "yes" : "no", reason: yes ? "It lands on a clear punchline." : "It has no clear punchline." };
  }
  if (props.pass?.type === "boolean" && props.reason?.type === "string") return demoJudgement(user);
  if (props.items?.type === "array") {
    const fields = Object.keys(props.items.items?.properties ?? {});
    const reportTopic = cleanTopic(/report on ([^:.\n]+)/i.exec(user)?.[1] ?? topic);
    if (fields.includes("name") && fields.includes("description") && fields.length === 2) {
      return { items: content.reportPlan(reportTopic, rng) };
    }
    const count = 3 + Math.floor(rng() * 3);
    return { items: Array.from({ length: count }, (_, i) => fillFromSchema(props.items!.items, reportTopic, `part ${i + 1}`, rng)) };
  }
  return fillFromSchema(schema, topic, "value", rng);
}

function usage(inputText: string, outputText: string): LanguageModelV4Usage {
  const tokens = (text: string) => Math.max(1, Math.ceil(text.length / 4));
  return {
    inputTokens: { total: tokens(inputText), noCache: tokens(inputText), cacheRead: undefined, cacheWrite: undefined },
    outputTokens: { total: tokens(outputText), text: tokens(outputText), reasoning: undefined },
  };
}

/** Splits text into word-sized chunks that keep their whitespace, so joining them restores the text. */
export function chunkText(text: string): string[] {
  return text.match(/\S+\s*|\s+/g) ?? [];
}

function abortError(): Error {
  const error = new Error("The operation was aborted.");
  error.name = "AbortError";
  return error;
}

/** The id of the one text part a demo answer streams. */
const TEXT_ID = "text-0";

/**
 * A model without delays has its whole answer at once: it is queued when the stream starts, as a
 * provider's response that arrived in one read would be. Each chunk then costs the reader's read
 * alone, where pulling chunk by chunk cost five promises more (issue 12). Aborting the call errors
 * the stream as the paced one does: what is still queued is dropped and the next read fails.
 */
function instantStream(modelId: string, chunks: string[], finalUsage: LanguageModelV4Usage, signal: AbortSignal | undefined): ReadableStream<LanguageModelV4StreamPart> {
  return new ReadableStream<LanguageModelV4StreamPart>({
    start(controller) {
      if (signal?.aborted) return controller.error(abortError());
      signal?.addEventListener("abort", () => controller.error(abortError()), { once: true });
      const id = TEXT_ID;
      controller.enqueue({ type: "stream-start", warnings: [] });
      controller.enqueue({ type: "response-metadata", modelId });
      controller.enqueue({ type: "text-start", id });
      for (const delta of chunks) controller.enqueue({ type: "text-delta", id, delta });
      controller.enqueue({ type: "text-end", id });
      controller.enqueue({ type: "finish", finishReason: { unified: "stop", raw: "stop" }, usage: finalUsage });
      controller.close();
    },
  });
}

function delay(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (signal?.aborted) return Promise.reject(abortError());
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError());
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** A hung provider: nothing happens until the caller gives up. */
function untilAborted(signal: AbortSignal | undefined): Promise<never> {
  return new Promise<never>((_, reject) => {
    if (signal?.aborted) return reject(abortError());
    signal?.addEventListener("abort", () => reject(abortError()), { once: true });
  });
}

export class DemoLanguageModel implements LanguageModelV4 {
  readonly specificationVersion = "v4" as const;
  readonly provider = "demo";
  readonly supportedUrls = {};
  private readonly faultCounts = new Map<DemoFault, number>();

  constructor(
    readonly modelId: string,
    private readonly settings: DemoSettings,
  ) {}

  private answer(options: LanguageModelV4CallOptions) {
    const { system, user } = promptText(options.prompt);
    const schema = options.responseFormat?.type === "json" ? (options.responseFormat.schema as JsonSchemaObject | undefined) : undefined;
    const text = schema ? JSON.stringify(demoObject(system, user, schema)) : demoText(system, user);
    return { text, input: `${system}\n${user}` };
  }

  /** The fault this call should suffer, if test configuration asked for one. */
  private fault(options: LanguageModelV4CallOptions): DemoFault | undefined {
    const { system, user } = promptText(options.prompt);
    for (const fault of this.settings.faults ?? []) {
      if (fault.match && !`${system}\n${user}`.includes(fault.match)) continue;
      const used = this.faultCounts.get(fault) ?? 0;
      if (fault.times !== undefined && used >= fault.times) continue;
      this.faultCounts.set(fault, used + 1);
      return fault;
    }
    return undefined;
  }

  private httpFault(fault: DemoFault): APICallError | undefined {
    if (fault.kind === "rate-limit") {
      return new APICallError({
        message: "Rate limit reached for the demo model (injected fault)",
        url: "demo://local",
        requestBodyValues: {},
        statusCode: 429,
        responseHeaders: { "retry-after": String(fault.retryAfterSeconds ?? 1) },
        isRetryable: true,
      });
    }
    if (fault.kind === "server-error") {
      return new APICallError({
        message: "The demo model had an internal error (injected fault)",
        url: "demo://local",
        requestBodyValues: {},
        statusCode: 500,
        isRetryable: true,
      });
    }
    return undefined;
  }

  async doGenerate(options: LanguageModelV4CallOptions): Promise<LanguageModelV4GenerateResult> {
    const fault = this.fault(options);
    const error = fault && this.httpFault(fault);
    if (error) throw error;
    if (fault?.kind === "hang") await untilAborted(options.abortSignal);
    const { text, input } = this.answer(options);
    await delay(this.settings.firstTokenDelayMs + chunkText(text).length * this.settings.chunkDelayMs, options.abortSignal);
    const parts: LanguageModelV4Content[] = [{ type: "text", text }];
    return { content: parts, finishReason: { unified: "stop", raw: "stop" }, usage: usage(input, text), warnings: [] };
  }

  async doStream(options: LanguageModelV4CallOptions) {
    const fault = this.fault(options);
    const error = fault && this.httpFault(fault);
    if (error) throw error;
    const { text, input } = this.answer(options);
    const chunks = chunkText(text);
    const { firstTokenDelayMs, chunkDelayMs } = this.settings;
    const signal = options.abortSignal;
    const modelId = this.modelId;
    if (!fault && firstTokenDelayMs <= 0 && chunkDelayMs <= 0) return { stream: instantStream(modelId, chunks, usage(input, text), signal) };
    const id = TEXT_ID;
    const cutAt = fault?.kind === "cut" ? Math.max(1, Math.floor(chunks.length / 2)) : Infinity;
    let index = 0;
    let opened = false;
    const stream = new ReadableStream<LanguageModelV4StreamPart>({
      start(controller) {
        controller.enqueue({ type: "stream-start", warnings: [] });
      },
      async pull(controller) {
        try {
          if (fault?.kind === "hang") await untilAborted(signal);
          if (!opened) {
            await delay(firstTokenDelayMs, signal);
            controller.enqueue({ type: "response-metadata", modelId });
            controller.enqueue({ type: "text-start", id });
            opened = true;
          } else {
            await delay(chunkDelayMs, signal);
          }
          if (index >= cutAt) {
            // An injected cut: the connection drops mid-answer, with no finish part.
            controller.close();
            return;
          }
          if (index < chunks.length) {
            controller.enqueue({ type: "text-delta", id, delta: chunks[index++] });
            return;
          }
          controller.enqueue({ type: "text-end", id });
          controller.enqueue({ type: "finish", finishReason: { unified: "stop", raw: "stop" }, usage: usage(input, text) });
          controller.close();
        } catch (streamError) {
          controller.error(streamError);
        }
      },
    });
    return { stream };
  }
}
