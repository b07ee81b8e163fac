import { z } from "zod";
import { formatPath, issue, type ValidationIssue } from "./issues";
import { KINDS, NODE_KINDS, type NodeConfigs, type NodeKind } from "./kinds";
import { modelId, stateKey } from "./kinds/common";
import { PinSchema, pinProblems, type Pin } from "./pin";

/** The document format (docs/architecture.md §2). Strict everywhere: unknown keys are rejected with their path. */

export const FORMAT = "trellis.workflow";
export const CURRENT_VERSION = 1;
/** Documents larger than this are refused before parsing. */
export const MAX_DOCUMENT_BYTES = 5_000_000;

const id = z
  .string()
  .min(1, "is required")
  .max(64)
  .regex(/^[A-Za-z0-9_-]+$/, "may only contain letters, digits, _ and -");
const label = z.string().max(120);

export const PositionSchema = z.strictObject({ x: z.number().finite(), y: z.number().finite() });

export const WorkflowInputSchema = z.strictObject({
  key: stateKey,
  label: label,
  type: z.enum(["text", "long-text", "number", "boolean"]),
  default: z.union([z.string().max(20_000), z.number().finite(), z.boolean()]).optional(),
  description: z.string().max(500).optional(),
  required: z.boolean().optional(),
});
export type WorkflowInput = z.infer<typeof WorkflowInputSchema>;

function nodeSchema<K extends NodeKind>(kind: K) {
  return z.strictObject({
    id,
    kind: z.literal(kind),
    label,
    position: PositionSchema,
    config: KINDS[kind].configSchema as z.ZodType<NodeConfigs[K]>,
    pinned: PinSchema.optional(),
  });
}

const nodeSchemas = NODE_KINDS.map((kind) => nodeSchema(kind));
export const NodeSchema = z.discriminatedUnion("kind", nodeSchemas as unknown as [ReturnType<typeof nodeSchema<"input">>]);

export type WorkflowNodeOf<K extends NodeKind> = {
  id: string;
  kind: K;
  label: string;
  position: { x: number; y: number };
  config: NodeConfigs[K];
  /** A pinned output: the node answers this instead of running (see pin.ts). */
  pinned?: Pin;
};
export type WorkflowNode = { [K in NodeKind]: WorkflowNodeOf<K> }[NodeKind];

export const EdgeSchema = z.strictObject({
  id,
  source: id,
  sourcePort: z.string().min(1).max(40),
  target: id,
  targetPort: z.string().min(1).max(40),
});
export type WorkflowEdge = z.infer<typeof EdgeSchema>;

export const LimitsSettingsSchema = z.strictObject({
  maxConcurrency: z.number().int().min(1).optional(),
  maxMapItems: z.number().int().min(0).optional(),
  maxLoopIterations: z.number().int().min(1).optional(),
  maxModelCalls: z.number().int().min(1).optional(),
  /** The run's token budget (input + output tokens of every call); the operator's ceiling still applies. */
  maxTokens: z.number().int().min(1).optional(),
  maxWallTimeMs: z.number().int().min(1000).optional(),
});

export const SettingsSchema = z.strictObject({
  defaultModel: modelId.optional(),
  limits: LimitsSettingsSchema.optional(),
});

export const DocumentSchema = z.strictObject({
  format: z.literal(FORMAT),
  version: z.literal(CURRENT_VERSION),
  name: z.string().trim().min(1, "is required").max(120),
  description: z.string().max(2_000).optional(),
  inputs: z.array(WorkflowInputSchema).max(50),
  nodes: z.array(NodeSchema).max(5_000),
  edges: z.array(EdgeSchema).max(20_000),
  settings: SettingsSchema.optional(),
});

export type WorkflowDocument = Omit<z.infer<typeof DocumentSchema>, "nodes"> & { nodes: WorkflowNode[] };

export const DEFAULT_MODEL = "demo:default";

/** Older versions upgrade through these steps: MIGRATIONS[n] turns version n into n + 1. */
const MIGRATIONS: Record<number, (doc: Record<string, unknown>) => Record<string, unknown>> = {};

export type ParseResult = { ok: true; document: WorkflowDocument } | { ok: false; issues: ValidationIssue[] };

function zodMessage(zodIssue: z.core.$ZodIssue, input: unknown): string {
  switch (zodIssue.code) {
    case "unrecognized_keys":
      return `unknown key${zodIssue.keys.length > 1 ? "s" : ""} ${zodIssue.keys.map((k) => `"${k}"`).join(", ")}`;
    case "invalid_union": {
      const discriminator = (zodIssue as { discriminator?: string }).discriminator;
      if (!discriminator) return zodIssue.message;
      const value = valueAt(input, zodIssue.path);
      const known = discriminator === "kind" ? `node kind` : `"${discriminator}"`;
      const choices = discriminator === "kind" ? ` (expected one of ${NODE_KINDS.join(", ")})` : "";
      return value === undefined ? `"${discriminator}" is missing${choices}` : `unknown ${known} ${JSON.stringify(value)}${choices}`;
    }
    case "invalid_value":
      return `must be ${zodIssue.values.map((v) => JSON.stringify(v)).join(" or ")}`;
    case "invalid_type":
      return valueAt(input, zodIssue.path) === undefined ? "is required" : `must be ${zodIssue.expected}`;
    default:
      return zodIssue.message.replace(/^Invalid input: /, "");
  }
}

function valueAt(input: unknown, path: ReadonlyArray<PropertyKey>): unknown {
  let current = input;
  for (const key of path) {
    if (current === null || typeof current !== "object" || !Object.prototype.hasOwnProperty.call(current, key)) return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

function nodeIdAt(input: unknown, path: ReadonlyArray<PropertyKey>): string | undefined {
  if (path[0] !== "nodes" || typeof path[1] !== "number") return undefined;
  const nodeId = valueAt(input, ["nodes", path[1], "id"]);
  return typeof nodeId === "string" ? nodeId : undefined;
}

/** Runs the version migrations, or explains why it cannot. */
function migrate(input: Record<string, unknown>): { ok: true; doc: Record<string, unknown> } | { ok: false; issues: ValidationIssue[] } {
  const version = input.version;
  if (typeof version !== "number" || !Number.isInteger(version) || version < 1) {
    return { ok: false, issues: [issue("version", "version", "must be a whole number (this app writes version 1)")] };
  }
  if (version > CURRENT_VERSION) {
    return {
      ok: false,
      issues: [
        issue(
          "version-too-new",
          "version",
          `this document is format version ${version}, written by a newer Trellis; this app reads versions up to ${CURRENT_VERSION}`,
        ),
      ],
    };
  }
  let doc = input;
  for (let v = version; v < CURRENT_VERSION; v++) {
    const step = MIGRATIONS[v];
    if (!step) return { ok: false, issues: [issue("version", "version", `no migration from version ${v}`)] };
    doc = { ...step(doc), version: v + 1 };
  }
  return { ok: true, doc };
}

/** Per-kind checks the schema cannot express (duplicate route names, unsafe regexes…). */
function kindIssues(document: WorkflowDocument): ValidationIssue[] {
  const out: ValidationIssue[] = [];
  document.nodes.forEach((node, index) => {
    const definition = KINDS[node.kind] as { check?: (config: unknown) => Array<{ path: string; message: string }> };
    for (const problem of definition.check?.(node.config) ?? []) {
      out.push(issue("invalid-config", `nodes[${index}].config.${problem.path}`, problem.message, { nodeId: node.id }));
    }
    for (const problem of pinProblems(node as unknown as Parameters<typeof pinProblems>[0])) {
      out.push(issue("invalid-pin", `nodes[${index}].${problem.path}`, problem.message, { nodeId: node.id }));
    }
  });
  return out;
}

/**
 * Parses anything into a workflow document, or a list of issues with JSON paths.
 * Never throws: every boundary (load, save, import, run, CLI) goes through here.
 */
export function parseDocument(input: unknown): ParseResult {
  try {
    if (input === null || typeof input !== "object" || Array.isArray(input)) {
      return { ok: false, issues: [issue("not-a-document", "", "a workflow document must be a JSON object")] };
    }
    const record = input as Record<string, unknown>;
    if (record.format !== FORMAT) {
      return {
        ok: false,
        issues: [issue("format", "format", `must be "${FORMAT}" (got ${record.format === undefined ? "nothing" : JSON.stringify(record.format).slice(0, 60)})`)],
      };
    }
    const migrated = migrate(record);
    if (!migrated.ok) return migrated;
    const result = DocumentSchema.safeParse(migrated.doc);
    if (!result.success) {
      const issues = result.error.issues.slice(0, 100).map((zodIssue) => {
        const path = zodIssue.code === "unrecognized_keys" && zodIssue.keys.length === 1 ? [...zodIssue.path, zodIssue.keys[0]] : zodIssue.path;
        return issue(`schema:${zodIssue.code}`, formatPath(path), zodMessage(zodIssue, migrated.doc), {
          nodeId: nodeIdAt(migrated.doc, zodIssue.path),
        });
      });
      return { ok: false, issues };
    }
    const document = result.data as WorkflowDocument;
    const problems = kindIssues(document);
    return problems.length ? { ok: false, issues: problems } : { ok: true, document };
  } catch (error) {
    return {
      ok: false,
      issues: [issue("unreadable", "", `the document could not be read: ${error instanceof Error ? error.message : String(error)}`)],
    };
  }
}

/** Parses JSON text (an import, a file, a request body) into a document. Never throws. */
export function parseDocumentText(text: string): ParseResult {
  if (text.length > MAX_DOCUMENT_BYTES) {
    return { ok: false, issues: [issue("too-large", "", `the document is ${text.length} characters; the limit is ${MAX_DOCUMENT_BYTES}`)] };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { ok: false, issues: [issue("invalid-json", "", `not valid JSON: ${error instanceof Error ? error.message : String(error)}`)] };
  }
  return parseDocument(value);
}

/** The export format: byte-identical through parse → serialize. */
export function serializeDocument(document: WorkflowDocument): string {
  return JSON.stringify(document, null, 2);
}
