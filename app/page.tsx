import { createModels } from "@/lib/server/models";
import { parseDocument, TEMPLATES } from "@/lib/workflow";

export const dynamic = "force-dynamic";

export default function HomePage() {
  const models = createModels().registry.list();
  return (
    <main className="mx-auto max-w-5xl px-6 py-12">
      <header className="mb-10">
        <h1 className="text-3xl font-semibold tracking-tight">Trellis</h1>
        <p className="mt-2 max-w-2xl text-zinc-600 dark:text-zinc-400">
          A visual editor for LLM workflow patterns. Start from one of the five canonical patterns; each runs offline with the built-in demo model.
        </p>
      </header>
      <section aria-labelledby="templates">
        <h2 id="templates" className="mb-4 text-sm font-medium uppercase tracking-wide text-zinc-500">
          Pattern templates
        </h2>
        <ul className="grid gap-4 sm:grid-cols-2 lg:grid-cols-3">
          {TEMPLATES.map((template) => {
            const parsed = parseDocument(template.json);
            const nodes = parsed.ok ? parsed.document.nodes.filter((n) => n.kind !== "note").length : 0;
            return (
              <li key={template.id} data-testid={`template-${template.id}`} className="rounded-lg border border-zinc-200 p-4 dark:border-zinc-800">
                <h3 className="font-medium">{template.title}</h3>
                <p className="mt-1 text-sm text-zinc-600 dark:text-zinc-400">{template.whenToUse}</p>
                <p className="mt-3 text-xs text-zinc-500">{nodes} nodes</p>
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
