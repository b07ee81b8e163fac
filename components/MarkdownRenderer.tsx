"use client";

import { useDeferredValue } from "react";
import ReactMarkdown, { type Components } from "react-markdown";

/**
 * The one markdown renderer for model output, labels and names. Raw HTML is dropped (never
 * rendered), images are removed (no remote fetches), links get safe URLs and open apart.
 * Loaded on demand by components/Markdown.tsx.
 */
const components: Components = {
  h1: ({ children }) => <h1 className="mb-2 mt-3 text-base font-semibold first:mt-0">{children}</h1>,
  h2: ({ children }) => <h2 className="mb-1.5 mt-3 text-sm font-semibold first:mt-0">{children}</h2>,
  h3: ({ children }) => <h3 className="mb-1 mt-2 text-sm font-medium first:mt-0">{children}</h3>,
  p: ({ children }) => <p className="mb-2 whitespace-pre-wrap last:mb-0">{children}</p>,
  ul: ({ children }) => <ul className="mb-2 list-disc pl-5">{children}</ul>,
  ol: ({ children }) => <ol className="mb-2 list-decimal pl-5">{children}</ol>,
  code: ({ children }) => <code className="rounded bg-zinc-100 px-1 font-mono text-[0.9em] dark:bg-zinc-800">{children}</code>,
  pre: ({ children }) => <pre className="mb-2 overflow-x-auto rounded bg-zinc-100 p-2 dark:bg-zinc-800">{children}</pre>,
  a: ({ children, href }) => (
    <a href={href} target="_blank" rel="noopener noreferrer nofollow" className="text-sky-700 underline dark:text-sky-400">
      {children}
    </a>
  ),
};

export default function MarkdownRenderer({ text }: { text: string }) {
  // Rendering many outputs at once (a run's end) is low-priority work React may split up.
  const deferred = useDeferredValue(text);
  return (
    <ReactMarkdown skipHtml disallowedElements={["img"]} components={components}>
      {deferred}
    </ReactMarkdown>
  );
}
