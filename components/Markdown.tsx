"use client";

import { lazy, Suspense } from "react";

// The markdown parser is a large part of the editor's JavaScript and is needed only once a run
// has output: it loads then, and the text shows as plain text until it has.
const MarkdownRenderer = lazy(() => import("./MarkdownRenderer"));

/** Model output, labels and names as sanitised markdown (see MarkdownRenderer). */
export function Markdown({ text, testId }: { text: string; testId?: string }) {
  return (
    <div data-testid={testId} className="break-words">
      <Suspense fallback={<p className="mb-2 whitespace-pre-wrap last:mb-0">{text}</p>}>
        <MarkdownRenderer text={text} />
      </Suspense>
    </div>
  );
}
