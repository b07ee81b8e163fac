"use client";

import { useState } from "react";
import type { WorkflowInput } from "@/lib/workflow";
import { Dialog } from "../dialogs";
import { useEditor } from "../EditorProvider";
import { inputClass } from "../inspector/fields";

type Values = Record<string, string | number | boolean>;

const storageKey = (name: string) => `trellis:inputs:${name}`;

function remembered(name: string, inputs: WorkflowInput[]): Values {
  let saved: Values = {};
  try {
    saved = JSON.parse(globalThis.localStorage?.getItem(storageKey(name)) ?? "{}") as Values;
  } catch {
    saved = {};
  }
  return Object.fromEntries(inputs.map((input) => [input.key, saved[input.key] ?? input.default ?? (input.type === "boolean" ? false : "")]));
}

/** The run form: the workflow's inputs, prefilled with their defaults and remembered per workflow. */
export function RunDialog({ onRun, onClose }: { onRun: (values: Values) => void; onClose: () => void }) {
  const name = useEditor((s) => s.document.name);
  const inputs = useEditor((s) => s.document.inputs);
  const [values, setValues] = useState<Values>(() => remembered(name, inputs));
  const submit = () => {
    globalThis.localStorage?.setItem(storageKey(name), JSON.stringify(values));
    onRun(values);
  };
  return (
    <Dialog title={`Run “${name}”`} onClose={onClose} testId="run-dialog">
      <form
        onSubmit={(event) => {
          event.preventDefault();
          submit();
        }}
      >
        {inputs.length === 0 && <p className="mb-3 text-sm text-zinc-500">This workflow takes no inputs.</p>}
        {inputs.map((input) => (
          <label key={input.key} className="mb-3 block">
            <span className="mb-1 block text-xs font-medium text-zinc-600 dark:text-zinc-400">
              {input.label || input.key}
              {input.required ? " *" : ""}
            </span>
            {input.type === "long-text" ? (
              <textarea
                data-testid={`run-input-${input.key}`}
                rows={3}
                value={String(values[input.key] ?? "")}
                onChange={(e) => setValues({ ...values, [input.key]: e.target.value })}
                onKeyDown={(e) => {
                  if (e.key === "Enter" && (e.metaKey || e.ctrlKey)) submit();
                }}
                className={inputClass}
              />
            ) : input.type === "boolean" ? (
              <input type="checkbox" data-testid={`run-input-${input.key}`} checked={Boolean(values[input.key])} onChange={(e) => setValues({ ...values, [input.key]: e.target.checked })} />
            ) : (
              <input
                data-testid={`run-input-${input.key}`}
                type={input.type === "number" ? "number" : "text"}
                value={String(values[input.key] ?? "")}
                onChange={(e) => setValues({ ...values, [input.key]: input.type === "number" ? Number(e.target.value) : e.target.value })}
                className={inputClass}
              />
            )}
          </label>
        ))}
        <div className="flex justify-end gap-2">
          <button type="button" onClick={onClose} className="h-8 rounded-md px-3 text-sm hover:bg-zinc-100 dark:hover:bg-zinc-800">
            Cancel
          </button>
          <button type="submit" data-testid="run-start" className="h-8 rounded-md bg-sky-600 px-3 text-sm font-medium text-white">
            Run
          </button>
        </div>
      </form>
    </Dialog>
  );
}
