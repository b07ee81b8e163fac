"use client";

import type { ReactNode } from "react";
import type { ConditionRule, Field as OutputField, NodeConfigs, NodeKind } from "@/lib/workflow";
import { Field, ListEditor, ModelPicker, NumberInput, PromptEditor, Select, TextInput, inputClass } from "./fields";

/**
 * One config form per node kind, keyed by the kind union so the compiler asks for a form
 * whenever a kind is added.
 */

export type FormProps<K extends NodeKind> = {
  config: NodeConfigs[K];
  set: (config: NodeConfigs[K]) => void;
  /** Keys available upstream of this node. */
  available: string[];
  /** The first issue message for a config field, if any. */
  error: (field: string) => string | undefined;
};

const OP_LABELS: Record<ConditionRule["op"], string> = {
  contains: "contains",
  not_contains: "does not contain",
  equals: "equals",
  not_equals: "does not equal",
  matches: "matches regex",
  length_at_least: "length at least",
  length_at_most: "length at most",
  is_empty: "is empty",
  not_empty: "is not empty",
};

function ruleFor(op: ConditionRule["op"], key: string): ConditionRule {
  switch (op) {
    case "matches":
      return { op, key, pattern: ".*" };
    case "length_at_least":
    case "length_at_most":
      return { op, key, value: 10 };
    case "is_empty":
    case "not_empty":
      return { op, key };
    default:
      return { op, key, value: "" };
  }
}

function KeySelect({ value, available, onChange, testId }: { value: string; available: string[]; onChange: (v: string) => void; testId?: string }) {
  const options = available.includes(value) || !value ? available : [value, ...available];
  return (
    <select value={value} data-testid={testId} onChange={(e) => onChange(e.target.value)} className={inputClass}>
      {!value && <option value="">Choose a key…</option>}
      {options.map((key) => (
        <option key={key} value={key}>
          {key}
          {available.includes(key) ? "" : " (not upstream)"}
        </option>
      ))}
    </select>
  );
}

function FieldsEditor({ fields, onChange }: { fields: OutputField[]; onChange: (fields: OutputField[]) => void }) {
  return (
    <ListEditor
      items={fields}
      onChange={onChange}
      addLabel="Add field"
      make={(): OutputField => ({ name: `field_${fields.length + 1}`, type: "string" })}
      render={(field, update) => (
        <>
          <div className="flex gap-1">
            <TextInput value={field.name} onChange={(name) => update({ ...field, name })} mono />
            <select value={field.type} onChange={(e) => update({ ...field, type: e.target.value as OutputField["type"] })} className={`${inputClass} w-28`}>
              {(["string", "number", "boolean", "string[]"] as const).map((t) => (
                <option key={t}>{t}</option>
              ))}
            </select>
          </div>
          <TextInput value={field.description ?? ""} placeholder="Description for the model" onChange={(description) => update({ ...field, description: description || undefined })} />
        </>
      )}
    />
  );
}

const llm = ({ config, set, available, error }: FormProps<"llm">) => (
  <>
    <Field label="Output key" error={error("outputKey")}>
      <TextInput value={config.outputKey} onChange={(outputKey) => set({ ...config, outputKey })} mono testId="config-outputKey" />
    </Field>
    <Field label="Prompt" error={error("prompt")}>
      <PromptEditor value={config.prompt} onChange={(prompt) => set({ ...config, prompt })} available={available} testId="config-prompt" rows={6} />
    </Field>
    <Field label="System prompt (optional)" error={error("system")}>
      <PromptEditor value={config.system ?? ""} onChange={(system) => set({ ...config, system: system || undefined })} available={available} rows={2} />
    </Field>
    <Field label="Model">
      <ModelPicker value={config.model} onChange={(model) => set({ ...config, model })} />
    </Field>
    <Field label="Temperature" error={error("temperature")} hint="0–2; empty uses the provider's default">
      <NumberInput value={config.temperature} min={0} max={2} onChange={(temperature) => set({ ...config, temperature })} />
    </Field>
    <Field label="Answer" hint="Text, or a structured object with these fields (streams as it fills in)">
      <Select
        value={config.output?.type ?? "text"}
        options={[
          { value: "text", label: "Text" },
          { value: "fields", label: "Structured fields" },
        ]}
        onChange={(type) => set({ ...config, output: type === "fields" ? { type, fields: [{ name: "answer", type: "string" }] } : undefined })}
      />
    </Field>
    {config.output?.type === "fields" && (
      <FieldsEditor fields={config.output.fields} onChange={(fields) => set({ ...config, output: { type: "fields", fields } })} />
    )}
  </>
);

const gate = ({ config, set, available, error }: FormProps<"gate">) => (
  <>
    <Field label="Check with">
      <Select
        value={config.mode}
        testId="gate-mode"
        options={[
          { value: "condition", label: "Conditions (no model)" },
          { value: "judge", label: "An LLM yes/no judge" },
        ]}
        onChange={(mode) =>
          set(
            mode === "condition"
              ? { mode, condition: { match: "all", rules: [{ op: "not_empty", key: available[0] ?? "" }] }, maxIterations: config.maxIterations }
              : { mode, key: available[0] ?? "", criterion: "It answers the question.", maxIterations: config.maxIterations },
          )
        }
      />
    </Field>
    {config.mode === "condition" ? (
      <>
        <Field label="Pass when">
          <Select
            value={config.condition.match}
            testId="gate-match"
            options={[
              { value: "all", label: "all rules hold" },
              { value: "any", label: "any rule holds" },
            ]}
            onChange={(match) => set({ ...config, condition: { ...config.condition, match } })}
          />
        </Field>
        <ListEditor
          testId="gate-rules"
          items={config.condition.rules}
          onChange={(rules) => set({ ...config, condition: { ...config.condition, rules } })}
          addLabel="Add rule"
          make={() => ruleFor("contains", available[0] ?? "")}
          render={(rule, update, i) => (
            <>
              <KeySelect value={rule.key} available={available} onChange={(key) => update({ ...rule, key })} testId={`rule-key-${i}`} />
              <select value={rule.op} data-testid={`rule-op-${i}`} onChange={(e) => update(ruleFor(e.target.value as ConditionRule["op"], rule.key))} className={inputClass}>
                {Object.entries(OP_LABELS).map(([op, label]) => (
                  <option key={op} value={op}>
                    {label}
                  </option>
                ))}
              </select>
              {"value" in rule && typeof rule.value === "string" && (
                <TextInput value={rule.value} onChange={(value) => update({ ...rule, value } as ConditionRule)} testId={`rule-value-${i}`} />
              )}
              {"value" in rule && typeof rule.value === "number" && (
                <NumberInput value={rule.value} min={0} onChange={(value) => update({ ...rule, value: value ?? 0 } as ConditionRule)} />
              )}
              {rule.op === "matches" && (
                <>
                  <TextInput value={rule.pattern} onChange={(pattern) => update({ ...rule, pattern })} testId={`rule-pattern-${i}`} mono />
                  {error(`condition.rules[${i}].pattern`) && <span className="text-xs text-red-600">{error(`condition.rules[${i}].pattern`)}</span>}
                </>
              )}
            </>
          )}
        />
      </>
    ) : (
      <>
        <Field label="Key to judge">
          <KeySelect value={config.key} available={available} onChange={(key) => set({ ...config, key })} />
        </Field>
        <Field label="Criterion" error={error("criterion")}>
          <textarea value={config.criterion} rows={3} onChange={(e) => set({ ...config, criterion: e.target.value })} className={inputClass} />
        </Field>
        <Field label="Model">
          <ModelPicker value={config.model} onChange={(model) => set({ ...config, model })} />
        </Field>
      </>
    )}
    <Field label="Max iterations" hint="Bounds a loop closed by the fail port">
      <NumberInput value={config.maxIterations} min={1} max={10} onChange={(maxIterations) => set({ ...config, maxIterations })} />
    </Field>
  </>
);

const router = ({ config, set, available, error }: FormProps<"router">) => (
  <>
    <Field label="Output key" error={error("outputKey")}>
      <TextInput value={config.outputKey} onChange={(outputKey) => set({ ...config, outputKey })} mono />
    </Field>
    <Field label="What to classify" error={error("prompt")}>
      <PromptEditor value={config.prompt} onChange={(prompt) => set({ ...config, prompt })} available={available} rows={2} />
    </Field>
    <Field label="Routes" error={error("routes")} hint="Each route is a port; the unmatched case takes “default”" group>
      <ListEditor
        testId="router-routes"
        items={config.routes}
        onChange={(routes) => set({ ...config, routes })}
        addLabel="Add route"
        make={() => ({ name: `route_${config.routes.length + 1}`, description: "" })}
        render={(route, update) => (
          <>
            <TextInput value={route.name} onChange={(name) => update({ ...route, name })} mono />
            <TextInput value={route.description} placeholder="When to take it" onChange={(description) => update({ ...route, description })} />
          </>
        )}
      />
    </Field>
    <Field label="Model">
      <ModelPicker value={config.model} onChange={(model) => set({ ...config, model })} />
    </Field>
  </>
);

const aggregate = ({ config, set, available, error }: FormProps<"aggregate">) => (
  <>
    <Field label="Output key" error={error("outputKey")}>
      <TextInput value={config.outputKey} onChange={(outputKey) => set({ ...config, outputKey })} mono />
    </Field>
    <Field label="Template (optional)" hint="Empty: one “key: value” block per branch" error={error("template")}>
      <PromptEditor value={config.template ?? ""} onChange={(template) => set({ ...config, template: template || undefined })} available={available} />
    </Field>
    <Field label="Agreement check" hint="Scores how much the branches agree and names the ones that stand apart, for a verifying step to read" error={error("agreement.key")}>
      <label className="flex items-center gap-2 text-sm">
        <input
          type="checkbox"
          data-testid="aggregate-agreement"
          checked={Boolean(config.agreement)}
          onChange={(e) => set({ ...config, agreement: e.target.checked ? { key: available.includes("agreement") ? `${config.outputKey}_agreement` : "agreement" } : undefined })}
        />
        Check agreement across branches
      </label>
      {config.agreement && (
        <div className="mt-2 grid grid-cols-2 gap-2">
          <TextInput value={config.agreement.key} onChange={(key) => set({ ...config, agreement: { ...config.agreement!, key } })} mono />
          <NumberInput value={config.agreement.threshold} min={0} max={1} onChange={(threshold) => set({ ...config, agreement: { ...config.agreement!, threshold } })} />
        </div>
      )}
    </Field>
    {config.agreement && <AgreementPolicy config={config} set={set} error={error} />}
  </>
);

/** How the aggregate measures agreement, and what it does when the branches disagree. */
function AgreementPolicy({ config, set, error }: Pick<FormProps<"aggregate">, "config" | "set" | "error">) {
  const agreement = config.agreement!;
  const update = (change: Partial<typeof agreement>) => set({ ...config, agreement: { ...agreement, ...change } });
  return (
    <>
      <Field label="Similarity" hint="Shared words by default; an embedding model compares meaning more closely (each check is one model call)" error={error("agreement.embeddingModel")}>
        <ModelPicker value={agreement.embeddingModel} onChange={(embeddingModel) => update({ embeddingModel })} embedding={{ none: "Lexical (shared words)" }} testId="aggregate-embedding-model" />
      </Field>
      <Field
        label="On disagreement"
        hint="Runs only the branches that stand apart once more (they see the others' answers), then combines; the run's limits can stop it sooner. Needs three or more branches."
        error={error("agreement.rerun.rounds") ?? error("agreement.rerun")}
      >
        <label className="flex items-center gap-2 text-sm">
          <input type="checkbox" data-testid="aggregate-rerun" checked={Boolean(agreement.rerun)} onChange={(e) => update({ rerun: e.target.checked ? {} : undefined })} />
          Re-run the outlier branches
        </label>
        {agreement.rerun && (
          <label className="mt-2 flex items-center gap-2 text-sm">
            <span className="shrink-0 text-zinc-600 dark:text-zinc-400">At most</span>
            <NumberInput value={agreement.rerun.rounds ?? 1} min={1} max={5} testId="aggregate-rerun-rounds" onChange={(rounds) => update({ rerun: { rounds } })} />
            <span className="shrink-0 text-zinc-600 dark:text-zinc-400">rounds</span>
          </label>
        )}
      </Field>
    </>
  );
}

const orchestrator = ({ config, set, available, error }: FormProps<"orchestrator">) => (
  <>
    <Field label="Output key (the plan)" error={error("outputKey")}>
      <TextInput value={config.outputKey} onChange={(outputKey) => set({ ...config, outputKey })} mono />
    </Field>
    <Field label="Planning prompt" error={error("prompt")}>
      <PromptEditor value={config.prompt} onChange={(prompt) => set({ ...config, prompt })} available={available} />
    </Field>
    <Field label="Max items" error={error("maxItems")}>
      <NumberInput value={config.maxItems} min={1} max={50} onChange={(maxItems) => set({ ...config, maxItems: maxItems ?? 1 })} />
    </Field>
    <Field label="Item fields" hint="Default: name and description" group>
      <FieldsEditor
        fields={config.fields ?? [
          { name: "name", type: "string" },
          { name: "description", type: "string" },
        ]}
        onChange={(fields) => set({ ...config, fields })}
      />
    </Field>
    <Field label="Model">
      <ModelPicker value={config.model} onChange={(model) => set({ ...config, model })} />
    </Field>
  </>
);

const worker = ({ config, set, available, error }: FormProps<"worker">) => (
  <>
    <Field label="For each item of" error={error("forEach")}>
      <KeySelect value={config.forEach} available={available} onChange={(forEach) => set({ ...config, forEach })} />
    </Field>
    <Field label="Output key (the list of results)" error={error("outputKey")}>
      <TextInput value={config.outputKey} onChange={(outputKey) => set({ ...config, outputKey })} mono />
    </Field>
    <Field label="Prompt per item" hint="{{item.name}}, {{index}}, and {{others}} for items that wait for the rest" error={error("prompt")}>
      <PromptEditor value={config.prompt} onChange={(prompt) => set({ ...config, prompt })} available={available} scope={["item", "index", "others"]} />
    </Field>
    <Field label="Concurrency" hint="Instances running at once (default 4)">
      <NumberInput value={config.concurrency} min={1} max={50} onChange={(concurrency) => set({ ...config, concurrency })} />
    </Field>
    <Field label="Items that need the others" hint="Items whose field contains one of these words run last and see {{others}}">
      <TextInput
        value={config.dependentItems?.matches.join(", ") ?? ""}
        placeholder="conclusion, summary"
        onChange={(text) => {
          const matches = text.split(",").map((w) => w.trim()).filter(Boolean);
          set({ ...config, dependentItems: matches.length ? { field: config.dependentItems?.field ?? "name", matches } : undefined });
        }}
      />
    </Field>
    <Field label="Model">
      <ModelPicker value={config.model} onChange={(model) => set({ ...config, model })} />
    </Field>
  </>
);

const synthesizer = ({ config, set, available, error }: FormProps<"synthesizer">) => (
  <>
    <Field label="Combine">
      <KeySelect value={config.from} available={available} onChange={(from) => set({ ...config, from })} />
    </Field>
    <Field label="Output key" error={error("outputKey")}>
      <TextInput value={config.outputKey} onChange={(outputKey) => set({ ...config, outputKey })} mono />
    </Field>
    <Field label="How">
      <Select
        value={config.mode}
        options={[
          { value: "join", label: "Join the results" },
          { value: "llm", label: "Synthesize with a model" },
        ]}
        onChange={(mode) =>
          set(mode === "join" ? { mode, from: config.from, outputKey: config.outputKey } : { mode, from: config.from, outputKey: config.outputKey, prompt: "Write a summary of:\n\n{{joined}}" })
        }
      />
    </Field>
    {config.mode === "join" ? (
      <Field label="Separator" hint="Default: a blank line. Headings always start a new paragraph.">
        <TextInput value={config.separator ?? ""} placeholder="(blank line)" onChange={(separator) => set({ ...config, separator: separator || undefined })} />
      </Field>
    ) : (
      <>
        <Field label="Prompt" hint="{{joined}} is every result, joined" error={error("prompt")}>
          <PromptEditor value={config.prompt} onChange={(prompt) => set({ ...config, prompt })} available={available} scope={["joined"]} />
        </Field>
        <Field label="Model">
          <ModelPicker value={config.model} onChange={(model) => set({ ...config, model })} />
        </Field>
      </>
    )}
  </>
);

const evaluator = ({ config, set, available, error }: FormProps<"evaluator">) => (
  <>
    <Field label="Grade" error={error("key")}>
      <KeySelect value={config.key} available={available} onChange={(key) => set({ ...config, key })} />
    </Field>
    <Field label="Criteria" error={error("criteria")}>
      <textarea value={config.criteria} rows={3} onChange={(e) => set({ ...config, criteria: e.target.value })} className={inputClass} data-testid="config-criteria" />
    </Field>
    <div className="grid grid-cols-2 gap-2">
      <Field label="Grade key" error={error("gradeKey")}>
        <TextInput value={config.gradeKey} onChange={(gradeKey) => set({ ...config, gradeKey })} mono />
      </Field>
      <Field label="Feedback key" error={error("feedbackKey")}>
        <TextInput value={config.feedbackKey} onChange={(feedbackKey) => set({ ...config, feedbackKey })} mono />
      </Field>
    </div>
    <Field label="Max iterations" hint="Then it continues on pass, with a warning" error={error("maxIterations")}>
      <NumberInput value={config.maxIterations} min={1} max={10} onChange={(maxIterations) => set({ ...config, maxIterations })} />
    </Field>
    <Field label="Model">
      <ModelPicker value={config.model} onChange={(model) => set({ ...config, model })} />
    </Field>
  </>
);

const output = ({ config, set, available, error }: FormProps<"output">) => (
  <Field label="Keys shown as the result" error={error("keys")} group>
    <div className="space-y-1" data-testid="output-keys">
      {available.map((key) => (
        <label key={key} className="flex items-center gap-2 text-sm">
          <input
            type="checkbox"
            checked={config.keys.includes(key)}
            onChange={(e) => set({ ...config, keys: e.target.checked ? [...config.keys, key] : config.keys.filter((k) => k !== key) })}
          />
          <code className="text-xs">{key}</code>
        </label>
      ))}
      {config.keys.filter((k) => !available.includes(k)).map((key) => (
        <label key={key} className="flex items-center gap-2 text-sm text-red-600">
          <input type="checkbox" checked onChange={() => set({ ...config, keys: config.keys.filter((k) => k !== key) })} />
          <code className="text-xs">{key}</code> (not produced upstream)
        </label>
      ))}
    </div>
  </Field>
);

const note = ({ config, set }: FormProps<"note">) => (
  <>
    <Field label="Text">
      <textarea value={config.text} rows={6} onChange={(e) => set({ ...config, text: e.target.value })} className={inputClass} data-testid="config-note" />
    </Field>
    <Field label="Colour">
      <Select
        value={config.color ?? "yellow"}
        options={(["yellow", "blue", "green", "pink", "gray"] as const).map((c) => ({ value: c, label: c }))}
        onChange={(color) => set({ ...config, color })}
      />
    </Field>
  </>
);

const input = () => <p className="text-xs text-zinc-500">The input node exposes the workflow inputs. Edit them in the workflow settings (click the empty canvas).</p>;

export const CONFIG_FORMS: { [K in NodeKind]: (props: FormProps<K>) => ReactNode } = {
  input,
  llm,
  gate,
  router,
  aggregate,
  orchestrator,
  worker,
  synthesizer,
  evaluator,
  output,
  note,
};
