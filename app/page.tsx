import { Plus, Sparkles } from "lucide-react";
import Link from "next/link";
import { AccountBar } from "@/components/auth/AccountBar";
import { MyWorkflows } from "@/components/home/MyWorkflows";
import { TemplatePreview } from "@/components/TemplatePreview";
import { accountSummary } from "@/lib/server/auth/account";
import { modelOptions } from "@/lib/server/models";
import { myWorkflows } from "@/lib/server/workflows";
import { parseDocument, TEMPLATES } from "@/lib/workflow";

export const dynamic = "force-dynamic";

export default async function HomePage() {
  const models = modelOptions();
  const [mine, summary] = await Promise.all([myWorkflows(), accountSummary()]);
  return (
    <main className="mx-auto max-w-6xl px-6 py-12">
      <header className="mb-10 flex items-end justify-between gap-6">
        <div>
          <h1 className="text-3xl font-semibold tracking-tight">Trellis</h1>
          <p className="mt-2 max-w-2xl text-zinc-600 dark:text-zinc-400">
            Build LLM workflows from the five canonical patterns, run them, and watch every node stream. Everything runs offline with the built-in demo model.
          </p>
        </div>
        <div className="flex shrink-0 gap-2">
          <Link
            href="/editor?from=task"
            data-testid="new-from-task"
            title="Describe a task; Trellis plans the subtasks and picks the topology"
            className="inline-flex h-10 shrink-0 items-center gap-2 rounded-md border border-sky-600 px-4 text-sm font-medium text-sky-700 shadow-sm hover:bg-sky-50 dark:text-sky-300 dark:hover:bg-sky-950"
          >
            <Sparkles className="h-4 w-4" aria-hidden /> New from a task
          </Link>
          <Link
            href="/editor"
            data-testid="new-workflow"
            className="inline-flex h-10 shrink-0 items-center gap-2 rounded-md bg-sky-600 px-4 text-sm font-medium text-white shadow-sm hover:bg-sky-700"
          >
            <Plus className="h-4 w-4" aria-hidden /> New workflow
          </Link>
        </div>
      </header>
      <AccountBar summary={summary} />
      {mine.length > 0 && (
        <section aria-labelledby="mine" className="mb-10">
          <h2 id="mine" className="mb-4 text-sm font-medium uppercase tracking-wide text-zinc-500">
            Your workflows
          </h2>
          <MyWorkflows workflows={mine.map((w) => ({ ...w, updatedAt: w.updatedAt.toISOString() }))} />
        </section>
      )}
      <section aria-labelledby="templates">
        <h2 id="templates" className="mb-4 text-sm font-medium uppercase tracking-wide text-zinc-500">
          Start from a pattern
        </h2>
        <ul className="grid gap-4 sm:grid-cols-2 lg:grid-cols-3">
          {TEMPLATES.map((template) => {
            const parsed = parseDocument(template.json);
            return (
              <li key={template.id}>
                <Link
                  href={`/editor?template=${template.id}`}
                  data-testid={`template-${template.id}`}
                  className="block h-full rounded-lg border border-zinc-200 bg-white p-4 transition hover:border-sky-400 hover:shadow-md dark:border-zinc-800 dark:bg-zinc-900 dark:hover:border-sky-600"
                >
                  {parsed.ok && <TemplatePreview document={parsed.document} />}
                  <h3 className="mt-3 font-medium">{template.title}</h3>
                  <p className="mt-1 text-sm text-zinc-600 dark:text-zinc-400">{template.whenToUse}</p>
                </Link>
              </li>
            );
          })}
        </ul>
      </section>
      <section aria-labelledby="models" className="mt-10">
        <h2 id="models" className="mb-2 text-sm font-medium uppercase tracking-wide text-zinc-500">
          Models on this server
        </h2>
        <ul className="text-sm">
          {models.map((model) => (
            <li key={model.id}>
              <code>{model.id}</code> <span className="text-zinc-500">— {model.label}</span>
            </li>
          ))}
        </ul>
      </section>
    </main>
  );
}
