"use client";

import { Plus, Trash2 } from "lucide-react";
import type { Assertion, AssertionKind } from "@/lib/workflow/eval/types";

const KINDS: Array<{ kind: AssertionKind; label: string }> = [
  { kind: "equals", label: "equals" },
  { kind: "contains", label: "contains" },
  { kind: "not_contains", label: "does not contain" },
  { kind: "matches", label: "matches (regex)" },
  { kind: "length_between", label: "length between" },
  { kind: "schema", label: "fits the output's schema" },
  { kind: "similar", label: "similar to a reference" },
  { kind: "judge", label: "LLM judge (rubric)" },
];

const input = "h-8 rounded-md border border-zinc-300 bg-white px-2 text-sm focus:border-sky-500 focus:outline-none dark:border-zinc-700 dark:bg-zinc-900";

/** A new assertion of a kind, keeping what carries over (id, key, label). */
function ofKind(kind: AssertionKind, base: { id: string; key: string; label?: string }): Assertion {
  const common = { id: base.id, key: base.key, ...(base.label ? { label: base.label } : {}) };
  switch (kind) {
    case "equals":
      return { ...common, kind };
    case "contains":
    case "not_contains":
      return { ...common, kind, value: "" };
    case "matches":
      return { ...common, kind, pattern: "" };
    case "length_between":
      return { ...common, kind, min: 1 };
    case "schema":
      return { ...common, kind };
    case "similar":
      return { ...common, kind, threshold: 0.6 };
    case "judge":
      return { ...common, kind, rubric: "" };
  }
}

function nextNumber(assertions: ReadonlyArray<Assertion>, prefix: string, taken: ReadonlyArray<string>): number {
  for (let n = assertions.length + 1; ; n++) if (!assertions.some((a) => a.id === `${prefix}${n}`) && !taken.includes(`${prefix}${n}`)) return n;
}

/** The dataset's assertions, one declarative form per kind (no code): each names the output key it checks. */
export function AssertionsEditor({
  assertions,
  onChange,
  outputKeys,
  models,
  problems,
  canEmbed = false,
  idPrefix = "a",
  labelPrefix,
  takenIds = [],
  addLabel = "Add assertion",
}: {
  canEmbed?: boolean;
  /** New assertions are `<idPrefix><n>`, never one of `takenIds`; with `labelPrefix`, labelled `<labelPrefix> <n>`. */
  idPrefix?: string;
  labelPrefix?: string;
  takenIds?: ReadonlyArray<string>;
  addLabel?: string;
  assertions: Assertion[];
  onChange: (next: Assertion[]) => void;
  outputKeys: string[];
  models: Array<{ id: string; label: string }>;
  /** Messages by assertion index, from the last save. */
  problems: Record<number, string>;
}) {
  const update = (index: number, next: Assertion) => onChange(assertions.map((a, i) => (i === index ? next : a)));
  return (
    <div className="space-y-2" data-testid="assertions-editor">
      {assertions.map((assertion, index) => (
        <div key={index} className="rounded-lg border border-zinc-200 bg-white p-2.5 dark:border-zinc-800 dark:bg-zinc-900" data-testid={`assertion-${index}`}>
          <div className="flex flex-wrap items-center gap-2">
            {labelPrefix && assertion.label && (
              <span className="w-24 shrink-0 truncate text-xs font-medium text-zinc-600 dark:text-zinc-400" title={`Shown in the results as "${assertion.label}"`} data-testid="assertion-label">
                {assertion.label}
              </span>
            )}
            <select aria-label="Output key" value={assertion.key} onChange={(event) => update(index, { ...assertion, key: event.target.value })} className={`${input} w-40`} data-testid="assertion-key">
              {[...new Set([assertion.key, ...outputKeys])].map((key) => (
                <option key={key} value={key}>
                  {key}
                </option>
              ))}
            </select>
            <select
              aria-label="Check"
              value={assertion.kind}
              onChange={(event) => update(index, ofKind(event.target.value as AssertionKind, assertion))}
              className={`${input} w-52`}
              data-testid="assertion-kind"
            >
              {KINDS.map((k) => (
                <option key={k.kind} value={k.kind}>
                  {k.label}
                </option>
              ))}
            </select>
            <KindFields assertion={assertion} onChange={(next) => update(index, next)} models={models} canEmbed={canEmbed} />
            <button type="button" onClick={() => onChange(assertions.filter((_, i) => i !== index))} className="ml-auto rounded p-1 text-zinc-500 hover:bg-zinc-100 hover:text-red-600 dark:hover:bg-zinc-800" aria-label="Remove assertion" data-testid="assertion-remove">
              <Trash2 className="h-4 w-4" />
            </button>
          </div>
          {problems[index] && (
            <p className="mt-1.5 text-xs text-red-700 dark:text-red-400" data-testid="assertion-problem">
              {problems[index]}
            </p>
          )}
        </div>
      ))}
      <button
        type="button"
        onClick={() => {
          const n = nextNumber(assertions, idPrefix, takenIds);
          onChange([...assertions, ofKind("contains", { id: `${idPrefix}${n}`, key: outputKeys[0] ?? "output", label: labelPrefix ? `${labelPrefix} ${n}` : undefined })]);
        }}
        className="inline-flex h-8 items-center gap-1.5 rounded-md border border-dashed border-zinc-300 px-3 text-sm text-zinc-700 hover:bg-zinc-50 dark:border-zinc-700 dark:text-zinc-300 dark:hover:bg-zinc-800"
        data-testid="assertion-add"
      >
        <Plus className="h-4 w-4" /> {addLabel}
      </button>
    </div>
  );
}

function KindFields({ assertion, onChange, models, canEmbed }: { assertion: Assertion; onChange: (next: Assertion) => void; models: Array<{ id: string; label: string }>; canEmbed: boolean }) {
  const ignoreCase =
    "ignoreCase" in assertion || assertion.kind === "equals" || assertion.kind === "contains" || assertion.kind === "not_contains" || assertion.kind === "matches" ? (
      <label className="inline-flex items-center gap-1 text-xs text-zinc-600 dark:text-zinc-400">
        <input
          type="checkbox"
          checked={Boolean((assertion as { ignoreCase?: boolean }).ignoreCase)}
          onChange={(event) => onChange({ ...assertion, ignoreCase: event.target.checked || undefined } as Assertion)}
          data-testid="assertion-ignore-case"
        />
        ignore case
      </label>
    ) : null;
  const number = (value: string) => (value === "" ? undefined : Math.max(0, Math.floor(Number(value))));
  switch (assertion.kind) {
    case "equals":
      return (
        <>
          <input aria-label="Value" placeholder="the row's expected value" value={assertion.value ?? ""} onChange={(event) => onChange({ ...assertion, value: event.target.value || undefined })} className={`${input} min-w-48 flex-1`} data-testid="assertion-value" />
          {ignoreCase}
        </>
      );
    case "contains":
    case "not_contains":
      return (
        <>
          <input aria-label="Value" placeholder="text" value={assertion.value} onChange={(event) => onChange({ ...assertion, value: event.target.value })} className={`${input} min-w-48 flex-1`} data-testid="assertion-value" />
          {ignoreCase}
        </>
      );
    case "matches":
      return (
        <>
          <input aria-label="Pattern" placeholder="regular expression" value={assertion.pattern} onChange={(event) => onChange({ ...assertion, pattern: event.target.value })} className={`${input} min-w-48 flex-1 font-mono`} data-testid="assertion-pattern" />
          {ignoreCase}
        </>
      );
    case "length_between":
      return (
        <span className="inline-flex items-center gap-1 text-xs text-zinc-600 dark:text-zinc-400">
          <input aria-label="Minimum length" type="number" min={0} value={assertion.min ?? ""} onChange={(event) => onChange({ ...assertion, min: number(event.target.value) })} className={`${input} w-24`} data-testid="assertion-min" />
          and
          <input aria-label="Maximum length" type="number" min={0} value={assertion.max ?? ""} onChange={(event) => onChange({ ...assertion, max: number(event.target.value) })} className={`${input} w-24`} data-testid="assertion-max" />
          characters
        </span>
      );
    case "schema":
      return <span className="text-xs text-zinc-500">the structured-output fields of the node that writes this key</span>;
    case "similar":
      return (
        <>
          <input aria-label="Reference" placeholder="reference (default: the row's expected value)" value={assertion.reference ?? ""} onChange={(event) => onChange({ ...assertion, reference: event.target.value || undefined })} className={`${input} min-w-48 flex-1`} data-testid="assertion-reference" />
          <label className="inline-flex items-center gap-1 text-xs text-zinc-600 dark:text-zinc-400">
            at least
            <input aria-label="Threshold" type="number" min={0} max={1} step={0.05} value={assertion.threshold} onChange={(event) => onChange({ ...assertion, threshold: Math.min(1, Math.max(0, Number(event.target.value) || 0)) })} className={`${input} w-20`} data-testid="assertion-threshold" />
          </label>
          {(canEmbed || assertion.method === "embedding") && (
            <select aria-label="Similarity" value={assertion.method ?? "lexical"} onChange={(event) => onChange({ ...assertion, method: event.target.value === "embedding" ? "embedding" : undefined })} className={`${input} w-36`} data-testid="assertion-method">
              <option value="lexical">shared words</option>
              <option value="embedding">embeddings</option>
            </select>
          )}
        </>
      );
    case "judge":
      return (
        <div className="flex w-full flex-col gap-1.5">
          <textarea aria-label="Rubric" placeholder="Pass when the answer… (the judge answers pass/fail with a reason)" value={assertion.rubric} onChange={(event) => onChange({ ...assertion, rubric: event.target.value })} rows={2} className="w-full rounded-md border border-zinc-300 bg-white px-2 py-1 text-sm focus:border-sky-500 focus:outline-none dark:border-zinc-700 dark:bg-zinc-900" data-testid="assertion-rubric" />
          <select aria-label="Judge model" value={assertion.model ?? ""} onChange={(event) => onChange({ ...assertion, model: event.target.value || undefined })} className={`${input} w-64`} data-testid="assertion-model">
            <option value="">the workflow's default model</option>
            {models.map((m) => (
              <option key={m.id} value={m.id}>
                {m.label}
              </option>
            ))}
          </select>
        </div>
      );
  }
}
