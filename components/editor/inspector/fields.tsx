"use client";

import { Plus, Trash2 } from "lucide-react";
import { useMemo, useRef, useState, type ReactNode } from "react";
import { useModels } from "../EditorProvider";

export const inputClass =
  "w-full rounded-md border border-zinc-200 bg-white px-2 py-1 text-sm focus:border-sky-500 focus:outline-none focus:ring-1 focus:ring-sky-500/30 dark:border-zinc-700 dark:bg-zinc-950";

/** A labelled form row. `group` for rows holding several controls (a label may wrap only one). */
export function Field({ label, hint, error, group, children }: { label: string; hint?: string; error?: string; group?: boolean; children: ReactNode }) {
  const Wrapper = group ? "div" : "label";
  return (
    <Wrapper className="mb-3 block" {...(group ? { role: "group", "aria-label": label } : {})}>
      <span className="mb-1 block text-xs font-medium text-zinc-600 dark:text-zinc-400">{label}</span>
      {children}
      {error ? (
        <span className="mt-1 block text-xs text-red-600 dark:text-red-400" data-testid="field-error">
          {error}
        </span>
      ) : hint ? (
        <span className="mt-1 block text-[11px] text-zinc-500">{hint}</span>
      ) : null}
    </Wrapper>
  );
}

export function TextInput({ value, onChange, testId, placeholder, mono }: { value: string; onChange: (v: string) => void; testId?: string; placeholder?: string; mono?: boolean }) {
  return (
    <input
      value={value}
      placeholder={placeholder}
      data-testid={testId}
      onChange={(e) => onChange(e.target.value)}
      className={`${inputClass} ${mono ? "font-mono text-xs" : ""}`}
    />
  );
}

export function NumberInput({ value, onChange, min, max, testId }: { value: number | undefined; onChange: (v: number | undefined) => void; min?: number; max?: number; testId?: string }) {
  return (
    <input
      type="number"
      value={value ?? ""}
      min={min}
      max={max}
      data-testid={testId}
      onChange={(e) => onChange(e.target.value === "" ? undefined : Number(e.target.value))}
      className={inputClass}
    />
  );
}

export function Select<T extends string>({ value, options, onChange, testId }: { value: T; options: Array<{ value: T; label: string }>; onChange: (v: T) => void; testId?: string }) {
  return (
    <select value={value} data-testid={testId} onChange={(e) => onChange(e.target.value as T)} className={inputClass}>
      {options.map((option) => (
        <option key={option.value} value={option.value}>
          {option.label}
        </option>
      ))}
    </select>
  );
}

/**
 * Only the models the server has configured; an unknown one stays visible, marked. Language models
 * by default; `embedding` lists the embedding models instead, with `none` as the empty choice.
 */
export function ModelPicker({
  value,
  onChange,
  allowDefault = true,
  embedding,
  testId = "model-picker",
}: {
  value: string | undefined;
  onChange: (v: string | undefined) => void;
  allowDefault?: boolean;
  embedding?: { none: string };
  testId?: string;
}) {
  const models = useModels().filter((m) => Boolean(m.embedding) === Boolean(embedding));
  const known = !value || models.some((m) => m.id === value);
  return (
    <select value={value ?? ""} data-testid={testId} onChange={(e) => onChange(e.target.value || undefined)} className={inputClass}>
      {embedding ? <option value="">{embedding.none}</option> : allowDefault && <option value="">Workflow default</option>}
      {/* Short enough to read in the inspector's width; the title says it in full. */}
      {!known && (
        <option value={value} title={`${value} is not configured on this server`}>
          {value} (not configured)
        </option>
      )}
      {models.map((model) => (
        <option key={model.id} value={model.id}>
          {model.demo ? `${model.id} — offline demo model` : model.id}
        </option>
      ))}
    </select>
  );
}

const TOKEN = /\{\{\s*([#^/&]?)\s*([\w.]+)\s*\}\}/g;

/**
 * A prompt template editor: `{{keys}}` are highlighted (unknown ones in red), and typing `{{`
 * offers the keys available upstream. A transparent textarea over a highlighted mirror.
 */
export function PromptEditor({ value, onChange, available, scope = [], rows = 5, testId }: { value: string; onChange: (v: string) => void; available: string[]; scope?: string[]; rows?: number; testId?: string }) {
  const area = useRef<HTMLTextAreaElement>(null);
  const mirror = useRef<HTMLDivElement>(null);
  const [query, setQuery] = useState<string | null>(null);
  const [active, setActive] = useState(0);
  const known = useMemo(() => new Set([...available, ...scope]), [available, scope]);
  const unknown = useMemo(() => {
    const out = new Set<string>();
    for (const match of value.matchAll(TOKEN)) if (match[1] !== "/" && !known.has(match[2].split(".")[0])) out.add(match[2].split(".")[0]);
    return [...out];
  }, [value, known]);
  const suggestions = query === null ? [] : [...available, ...scope].filter((key) => key.startsWith(query));

  const highlighted = useMemo(() => {
    const parts: ReactNode[] = [];
    let last = 0;
    for (const match of value.matchAll(TOKEN)) {
      const at = match.index ?? 0;
      parts.push(value.slice(last, at));
      const ok = known.has(match[2].split(".")[0]) || match[1] === "/";
      parts.push(
        <mark key={at} className={ok ? "rounded bg-sky-100 text-transparent dark:bg-sky-900/60" : "rounded bg-red-100 text-transparent underline decoration-red-500 decoration-wavy dark:bg-red-900/60"}>
          {match[0]}
        </mark>,
      );
      last = at + match[0].length;
    }
    parts.push(`${value.slice(last)}\n`);
    return parts;
  }, [value, known]);

  const updateQuery = (text: string, caret: number) => {
    const match = /\{\{[#^/&]?\s*(\w*)$/.exec(text.slice(0, caret));
    setQuery(match ? match[1] : null);
    setActive(0);
  };

  const insert = (key: string) => {
    const el = area.current;
    if (!el) return;
    const caret = el.selectionStart;
    const before = value.slice(0, caret).replace(/(\w*)$/, key);
    const after = value.slice(caret).replace(/^\w*(\s*\}\})?/, "");
    const next = `${before}}}${after}`;
    onChange(next);
    setQuery(null);
    requestAnimationFrame(() => {
      el.focus();
      el.setSelectionRange(before.length + 2, before.length + 2);
    });
  };

  return (
    <div className="relative">
      <div className="relative">
        <div
          ref={mirror}
          aria-hidden
          className="pointer-events-none absolute inset-0 overflow-hidden whitespace-pre-wrap break-words rounded-md border border-transparent px-2 py-1 font-mono text-xs leading-5 text-transparent"
        >
          {highlighted}
        </div>
        <textarea
          ref={area}
          value={value}
          rows={rows}
          data-testid={testId}
          spellCheck={false}
          onChange={(e) => {
            onChange(e.target.value);
            updateQuery(e.target.value, e.target.selectionStart);
          }}
          onScroll={(e) => {
            if (mirror.current) mirror.current.scrollTop = e.currentTarget.scrollTop;
          }}
          onKeyDown={(e) => {
            if (!suggestions.length) return;
            if (e.key === "ArrowDown") setActive((a) => Math.min(a + 1, suggestions.length - 1));
            else if (e.key === "ArrowUp") setActive((a) => Math.max(a - 1, 0));
            else if (e.key === "Enter" || e.key === "Tab") insert(suggestions[active]);
            else if (e.key === "Escape") setQuery(null);
            else return;
            e.preventDefault();
          }}
          onBlur={() => setTimeout(() => setQuery(null), 150)}
          className="relative w-full resize-y rounded-md border border-zinc-200 bg-transparent px-2 py-1 font-mono text-xs leading-5 caret-zinc-900 focus:border-sky-500 focus:outline-none dark:border-zinc-700 dark:caret-zinc-100"
        />
      </div>
      {suggestions.length > 0 && (
        <ul className="absolute left-2 z-20 mt-1 max-h-40 min-w-40 overflow-y-auto rounded-md border border-zinc-200 bg-white py-1 text-xs shadow-lg dark:border-zinc-700 dark:bg-zinc-900" data-testid="key-suggestions">
          {suggestions.map((key, i) => (
            <li key={key}>
              <button
                type="button"
                onMouseDown={(e) => {
                  e.preventDefault();
                  insert(key);
                }}
                className={`block w-full px-2 py-1 text-left font-mono ${i === active ? "bg-sky-50 dark:bg-sky-950" : ""}`}
              >
                {key}
              </button>
            </li>
          ))}
        </ul>
      )}
      <div className="mt-1 flex flex-wrap items-center gap-1 text-[11px] text-zinc-500">
        {available.length > 0 ? <span>Keys:</span> : <span>No keys upstream yet — connect this node.</span>}
        {available.map((key) => (
          <button key={key} type="button" onClick={() => onChange(`${value}{{${key}}}`)} className="rounded bg-zinc-100 px-1 font-mono hover:bg-sky-100 dark:bg-zinc-800 dark:hover:bg-sky-900">
            {key}
          </button>
        ))}
        {unknown.length > 0 && (
          <span className="text-red-600 dark:text-red-400" data-testid="unknown-keys">
            Unknown: {unknown.join(", ")}
          </span>
        )}
      </div>
    </div>
  );
}

/** A list of rows with add and remove buttons. */
export function ListEditor<T>({ items, onChange, render, make, addLabel, testId }: { items: T[]; onChange: (items: T[]) => void; render: (item: T, update: (item: T) => void, index: number) => ReactNode; make: () => T; addLabel: string; testId?: string }) {
  return (
    <div data-testid={testId}>
      <ul className="space-y-2">
        {items.map((item, i) => (
          <li key={i} className="flex items-start gap-1 rounded-md border border-zinc-200 p-2 dark:border-zinc-700">
            <div className="min-w-0 flex-1 space-y-1">{render(item, (next) => onChange(items.map((old, j) => (j === i ? next : old))), i)}</div>
            <button type="button" aria-label="Remove" onClick={() => onChange(items.filter((_, j) => j !== i))} className="rounded p-1 text-zinc-400 hover:bg-zinc-100 hover:text-red-600 dark:hover:bg-zinc-800">
              <Trash2 className="h-3.5 w-3.5" />
            </button>
          </li>
        ))}
      </ul>
      <button type="button" onClick={() => onChange([...items, make()])} className="mt-2 inline-flex items-center gap-1 rounded-md px-2 py-1 text-xs text-sky-700 hover:bg-sky-50 dark:text-sky-400 dark:hover:bg-sky-950">
        <Plus className="h-3.5 w-3.5" /> {addLabel}
      </button>
    </div>
  );
}
