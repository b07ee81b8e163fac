"use client";

import { ListChecks, Plus, Trash2, X } from "lucide-react";
import { Fragment, useState } from "react";
import type { Assertion, DatasetRow } from "@/lib/workflow/eval/types";
import { AssertionsEditor } from "./AssertionsEditor";
import { PageControls, usePage } from "./Pager";

const cell = "h-8 w-full rounded border border-transparent bg-transparent px-1.5 text-sm hover:border-zinc-200 focus:border-sky-500 focus:bg-white focus:outline-none dark:hover:border-zinc-700 dark:focus:bg-zinc-900";

function newRowId(rows: ReadonlyArray<DatasetRow>): string {
  for (let n = rows.length + 1; ; n++) if (!rows.some((row) => row.id === `row-${n}`)) return `row-${n}`;
}

/**
 * The dataset's rows as a grid: one column per workflow input, then the expected values by output
 * key, then the row's own checks (assertions for this row only, edited in a panel under the row).
 */
export function DatasetGrid({
  rows,
  onChange,
  inputs,
  outputKeys,
  models,
  canEmbed,
  datasetAssertionIds,
  rowProblems,
}: {
  rows: DatasetRow[];
  onChange: (rows: DatasetRow[]) => void;
  inputs: Array<{ key: string; label: string; type: string }>;
  outputKeys: string[];
  models: Array<{ id: string; label: string }>;
  canEmbed: boolean;
  /** A row's checks may not reuse these ids (the dataset's assertions). */
  datasetAssertionIds: string[];
  /** Messages by row index, then by the row's assertion index, from the last save. */
  rowProblems: Record<number, Record<number, string>>;
}) {
  const [opened, setOpened] = useState<ReadonlySet<string>>(new Set());
  const toggle = (id: string) => setOpened((was) => (was.has(id) ? new Set([...was].filter((other) => other !== id)) : new Set([...was, id])));
  const setChecks = (index: number, assertions: Assertion[]) => onChange(rows.map((row, i) => (i === index ? withChecks(row, assertions) : row)));
  const used = [...new Set(rows.flatMap((row) => Object.keys(row.expected ?? {})))];
  const [extra, setExtra] = useState<string[]>([]);
  const expectedKeys = [...new Set([...used, ...extra])];
  const [adding, setAdding] = useState("");
  const pager = usePage(rows);

  const setInput = (index: number, key: string, raw: string, type: string) =>
    onChange(
      rows.map((row, i) => {
        if (i !== index) return row;
        const value = type === "number" && raw.trim() !== "" && Number.isFinite(Number(raw)) ? Number(raw) : type === "boolean" ? raw === "true" : raw;
        return { ...row, inputs: { ...row.inputs, [key]: value } };
      }),
    );
  const setExpected = (index: number, key: string, value: string) =>
    onChange(
      rows.map((row, i) => {
        if (i !== index) return row;
        const expected = { ...row.expected };
        if (value === "") delete expected[key];
        else expected[key] = value;
        return { ...row, expected: Object.keys(expected).length ? expected : undefined };
      }),
    );
  const removeExpected = (key: string) => {
    setExtra(extra.filter((k) => k !== key));
    onChange(rows.map((row) => (row.expected && key in row.expected ? setExpectedKey(row, key) : row)));
  };

  return (
    <div className="space-y-2">
      <div className="max-h-[420px] overflow-auto rounded-lg border border-zinc-200 dark:border-zinc-800">
        <table className="w-full border-collapse text-left text-sm" data-testid="dataset-grid">
          <thead className="sticky top-0 z-10 bg-zinc-50 text-xs text-zinc-500 dark:bg-zinc-900">
            <tr>
              <th className="w-10 px-2 py-2 font-medium">#</th>
              {inputs.map((input) => (
                <th key={input.key} className="min-w-40 px-2 py-2 font-medium" title={input.label}>
                  {input.key}
                </th>
              ))}
              {expectedKeys.map((key) => (
                <th key={key} className="min-w-40 px-2 py-2 font-medium">
                  <span className="inline-flex items-center gap-1">
                    expected · {key}
                    <button type="button" onClick={() => removeExpected(key)} className="rounded p-0.5 hover:bg-zinc-200 dark:hover:bg-zinc-700" aria-label={`Remove expected ${key}`}>
                      <X className="h-3 w-3" />
                    </button>
                  </span>
                </th>
              ))}
              <th className="w-28 px-2 py-2 font-medium" title="Assertions for one row only, in addition to the dataset's">
                row checks
              </th>
              <th className="w-10 px-2 py-2" />
            </tr>
          </thead>
          <tbody>
            {pager.items.map((row, at) => {
              const index = pager.offset + at;
              const checks = row.assertions ?? [];
              const problems = rowProblems[index] ?? {};
              // A row the last save found a problem in stays open, so the message is in view.
              const open = opened.has(row.id) || Object.keys(problems).length > 0;
              return (
                <Fragment key={row.id}>
                <tr className="border-t border-zinc-100 dark:border-zinc-800" data-testid="dataset-row">
                  <td className="px-2 text-xs tabular-nums text-zinc-500" title={row.id}>
                    {index + 1}
                  </td>
                  {inputs.map((input) => (
                    <td key={input.key} className="px-1 py-0.5">
                      <input aria-label={`Row ${index + 1} ${input.key}`} value={String(row.inputs[input.key] ?? "")} onChange={(event) => setInput(index, input.key, event.target.value, input.type)} className={cell} data-testid={`cell-${index}-${input.key}`} />
                    </td>
                  ))}
                  {expectedKeys.map((key) => (
                    <td key={key} className="px-1 py-0.5">
                      <input aria-label={`Row ${index + 1} expected ${key}`} value={row.expected?.[key] ?? ""} onChange={(event) => setExpected(index, key, event.target.value)} className={cell} data-testid={`cell-${index}-expected-${key}`} />
                    </td>
                  ))}
                  <td className="px-1 py-0.5">
                    <button
                      type="button"
                      onClick={() => toggle(row.id)}
                      aria-expanded={open}
                      aria-label={`Row ${index + 1} checks: ${checks.length}`}
                      className={`inline-flex h-7 items-center gap-1 whitespace-nowrap rounded-md border px-2 text-xs ${
                        open ? "border-sky-500 bg-sky-50 text-sky-800 dark:bg-sky-950 dark:text-sky-200" : "border-zinc-200 text-zinc-600 hover:bg-zinc-50 dark:border-zinc-700 dark:text-zinc-300 dark:hover:bg-zinc-800"
                      }`}
                      data-testid="row-checks"
                    >
                      <ListChecks className="h-3.5 w-3.5" />
                      {checks.length ? `${checks.length} check${checks.length === 1 ? "" : "s"}` : "add"}
                    </button>
                  </td>
                  <td className="px-1">
                    <button type="button" onClick={() => onChange(rows.filter((_, i) => i !== index))} className="rounded p-1 text-zinc-400 hover:bg-zinc-100 hover:text-red-600 dark:hover:bg-zinc-800" aria-label={`Delete row ${index + 1}`} data-testid="row-delete">
                      <Trash2 className="h-3.5 w-3.5" />
                    </button>
                  </td>
                </tr>
                {open && (
                  <tr className="bg-zinc-50/70 dark:bg-zinc-900/60" data-testid="row-assertions">
                    <td />
                    <td colSpan={inputs.length + expectedKeys.length + 2} className="px-2 pb-3 pt-1">
                      <p className="mb-1.5 text-xs text-zinc-600 dark:text-zinc-400">
                        Checks for row {index + 1} only, in addition to the dataset&apos;s assertions below; the results show each in a column of its label.
                      </p>
                      <AssertionsEditor
                        assertions={checks}
                        onChange={(next) => setChecks(index, next)}
                        outputKeys={outputKeys}
                        models={models}
                        problems={problems}
                        canEmbed={canEmbed}
                        idPrefix="check-"
                        labelPrefix="row check"
                        takenIds={datasetAssertionIds}
                        addLabel="Add a check for this row"
                      />
                    </td>
                  </tr>
                )}
                </Fragment>
              );
            })}
            {!rows.length && (
              <tr>
                <td colSpan={inputs.length + expectedKeys.length + 3} className="px-3 py-6 text-center text-sm text-zinc-500">
                  No rows yet: add one, or import a CSV or JSONL file.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      <PageControls pager={pager} />
      <div className="flex flex-wrap items-center gap-2">
        <button
          type="button"
          onClick={() => onChange([...rows, { id: newRowId(rows), inputs: Object.fromEntries(inputs.map((input) => [input.key, input.type === "number" ? 0 : input.type === "boolean" ? false : ""])) }])}
          className="inline-flex h-8 items-center gap-1.5 rounded-md border border-zinc-300 px-3 text-sm hover:bg-zinc-50 dark:border-zinc-700 dark:hover:bg-zinc-800"
          data-testid="row-add"
        >
          <Plus className="h-4 w-4" /> Add row
        </button>
        <span className="ml-2 text-xs text-zinc-500">Expected column for</span>
        <select aria-label="Expected column" value={adding} onChange={(event) => setAdding(event.target.value)} className="h-8 rounded-md border border-zinc-300 bg-white px-2 text-sm dark:border-zinc-700 dark:bg-zinc-900" data-testid="expected-key">
          <option value="">an output key…</option>
          {outputKeys
            .filter((key) => !expectedKeys.includes(key))
            .map((key) => (
              <option key={key} value={key}>
                {key}
              </option>
            ))}
        </select>
        <button
          type="button"
          disabled={!adding}
          onClick={() => {
            setExtra([...extra, adding]);
            setAdding("");
          }}
          className="inline-flex h-8 items-center gap-1 rounded-md border border-zinc-300 px-2 text-sm hover:bg-zinc-50 disabled:opacity-40 dark:border-zinc-700 dark:hover:bg-zinc-800"
          data-testid="expected-add"
        >
          <Plus className="h-4 w-4" /> Add
        </button>
      </div>
    </div>
  );
}

/** The row with these checks of its own (none: the field is left out, as an imported row without any). */
function withChecks(row: DatasetRow, assertions: Assertion[]): DatasetRow {
  const { assertions: _old, ...rest } = row;
  return assertions.length ? { ...rest, assertions } : rest;
}

function setExpectedKey(row: DatasetRow, key: string): DatasetRow {
  const expected = { ...row.expected };
  delete expected[key];
  return { ...row, expected: Object.keys(expected).length ? expected : undefined };
}
