"use client";

import { useReactFlow } from "@xyflow/react";
import { useMemo } from "react";
import { availableKeys, KINDS, type NodeKind, type ValidationIssue, type WorkflowInput, type WorkflowNode } from "@/lib/workflow";
import { nodeById } from "@/lib/editor/flow";
import { issuesOfNode } from "@/lib/editor/issues";
import { documentIssues } from "@/lib/editor/store";
import { IssueList } from "./dialogs";
import { useEditor, useEditorStore, useReadOnly } from "./EditorProvider";
import { Field, ListEditor, ModelPicker, NumberInput, TextInput, inputClass } from "./inspector/fields";
import { CONFIG_FORMS, type FormProps } from "./inspector/forms";
import { KIND_UI, PATTERN_STYLE } from "./kind-ui";
import { NodeTools } from "./run/NodeTools";

function NodeInspector({ node }: { node: WorkflowNode }) {
  const store = useEditorStore();
  const document = useEditor((s) => s.document);
  const issues = useEditor((s) => issuesOfNode(s.document, node.id));
  const available = useMemo(() => availableKeys(document, node.id), [document, node.id]);
  const index = document.nodes.findIndex((n) => n.id === node.id);
  const error = (field: string) => issues.find((i) => i.path === `nodes[${index}].config.${field}` || i.path.startsWith(`nodes[${index}].config.${field}[`))?.message;
  const Form = CONFIG_FORMS[node.kind] as (props: FormProps<NodeKind>) => React.ReactNode;
  const ui = KIND_UI[node.kind];
  const Icon = ui.icon;
  return (
    <div data-testid="node-inspector">
      <div className="mb-3 flex items-center gap-2">
        <Icon className={`h-4 w-4 ${PATTERN_STYLE[ui.pattern].tint}`} aria-hidden />
        <span className="text-xs font-semibold uppercase tracking-wide text-zinc-500">{KINDS[node.kind].title}</span>
        <code className="ml-auto text-[11px] text-zinc-400">{node.id}</code>
      </div>
      <Field label="Label">
        <TextInput value={node.label} onChange={(label) => store.getState().updateNode(node.id, { label })} testId="config-label" />
      </Field>
      <Form config={node.config as never} set={(config) => store.getState().updateNode(node.id, { config })} available={available} error={error} />
      <NodeTools node={node} />
      {issues.length > 0 && (
        <div className="mt-2 rounded-md border border-red-200 bg-red-50 p-2 dark:border-red-900 dark:bg-red-950/40" data-testid="node-issue-list">
          <IssueList issues={issues} />
        </div>
      )}
    </div>
  );
}

function InputsEditor({ inputs, onChange }: { inputs: WorkflowInput[]; onChange: (inputs: WorkflowInput[]) => void }) {
  return (
    <ListEditor
      testId="workflow-inputs"
      items={inputs}
      onChange={onChange}
      addLabel="Add input"
      make={(): WorkflowInput => ({ key: `input_${inputs.length + 1}`, label: "Input", type: "text" })}
      render={(input, update) => (
        <>
          <div className="flex gap-1">
            <TextInput value={input.key} onChange={(key) => update({ ...input, key })} mono />
            <select
              value={input.type}
              onChange={(e) => update({ ...input, type: e.target.value as WorkflowInput["type"], default: undefined })}
              className={`${inputClass} w-28`}
            >
              <option value="text">text</option>
              <option value="long-text">long text</option>
              <option value="number">number</option>
              <option value="boolean">boolean</option>
            </select>
          </div>
          <TextInput value={input.label} placeholder="Label" onChange={(label) => update({ ...input, label })} />
          <TextInput
            value={input.default === undefined ? "" : String(input.default)}
            placeholder="Default value"
            onChange={(text) =>
              update({
                ...input,
                default: text === "" ? undefined : input.type === "number" ? Number(text) : input.type === "boolean" ? text === "true" : text,
              })
            }
          />
          <label className="flex items-center gap-2 text-xs">
            <input type="checkbox" checked={Boolean(input.required)} onChange={(e) => update({ ...input, required: e.target.checked || undefined })} /> required
          </label>
        </>
      )}
    />
  );
}

function WorkflowInspector() {
  const store = useEditorStore();
  const document = useEditor((s) => s.document);
  const issues = useEditor((s) => documentIssues(s.document));
  const flow = useReactFlow();
  const pick = (found: ValidationIssue) => {
    const node = found.nodeId ? nodeById(store.getState().document, found.nodeId) : undefined;
    if (!node) return;
    store.getState().select([node.id]);
    flow.setCenter(node.position.x + 130, node.position.y + 60, { zoom: Math.max(flow.getZoom(), 0.9), duration: 300 });
  };
  return (
    <div data-testid="workflow-inspector">
      <h2 className="mb-3 text-xs font-semibold uppercase tracking-wide text-zinc-500">Workflow</h2>
      <Field label="Name">
        <TextInput value={document.name} onChange={(name) => store.getState().updateWorkflow({ name })} />
      </Field>
      <Field label="Description">
        <textarea
          value={document.description ?? ""}
          rows={2}
          onChange={(e) => store.getState().updateWorkflow({ description: e.target.value || undefined })}
          className={inputClass}
        />
      </Field>
      <Field label="Default model">
        <ModelPicker
          allowDefault={false}
          value={document.settings?.defaultModel ?? "demo:default"}
          onChange={(defaultModel) => store.getState().updateWorkflow({ settings: { ...document.settings, defaultModel } })}
        />
      </Field>
      <Field label="Token budget per run" hint="Input and output tokens of one run; empty uses the server's limit, which this can only lower.">
        <NumberInput
          value={document.settings?.limits?.maxTokens}
          min={1}
          testId="workflow-max-tokens"
          onChange={(maxTokens) => {
            const { maxTokens: _, ...limits } = document.settings?.limits ?? {};
            const next = maxTokens === undefined ? limits : { ...limits, maxTokens };
            store.getState().updateWorkflow({ settings: { ...document.settings, limits: Object.keys(next).length ? next : undefined } });
          }}
        />
      </Field>
      <Field label="Inputs" group>
        <InputsEditor inputs={document.inputs} onChange={(inputs) => store.getState().updateWorkflow({ inputs })} />
      </Field>
      <h3 className="mb-1 mt-4 text-xs font-semibold uppercase tracking-wide text-zinc-500" id="issues">
        Validation
      </h3>
      <div data-testid="validation-panel">
        {issues.length ? <IssueList issues={issues} onPick={pick} /> : <p className="text-xs text-emerald-700 dark:text-emerald-400">No issues: this workflow can run.</p>}
      </div>
    </div>
  );
}

export function Inspector() {
  const selected = useEditor((s) => (s.selection.nodes.length === 1 ? nodeById(s.document, s.selection.nodes[0]) : undefined));
  const count = useEditor((s) => s.selection.nodes.length);
  const readOnly = useReadOnly();
  return (
    <aside aria-label="Inspector" className="h-full overflow-y-auto px-4 py-3 text-sm">
      {readOnly && (
        <p className="mb-3 rounded-md bg-zinc-100 px-2 py-1 text-xs text-zinc-600 dark:bg-zinc-900 dark:text-zinc-400" data-testid="read-only-note">
          Read-only: every setting is shown as it was saved.
        </p>
      )}
      {/* A disabled fieldset disables every control inside it: look, do not touch. */}
      <fieldset disabled={readOnly} className="contents">
      {selected ? (
        <NodeInspector key={selected.id} node={selected} />
      ) : count > 1 ? (
        <p className="text-xs text-zinc-500" data-testid="multi-selection">
          {count} nodes selected. Delete, duplicate (Ctrl/⌘ D) or copy them (Ctrl/⌘ C).
        </p>
      ) : (
        <WorkflowInspector />
      )}
      </fieldset>
    </aside>
  );
}

