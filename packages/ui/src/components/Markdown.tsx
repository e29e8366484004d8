/**
 * doc_md as Markdown, loaded on first use: the renderer (react-markdown, remark-gfm) is about a
 * fifth of the bundle, and most pages show no docs. While it loads, the text shows as written.
 */
import { lazy, Suspense } from "react";

const MarkdownView = lazy(() => import("./MarkdownView.tsx"));

export function Markdown({ text, label }: { text: string; label: string }) {
  return (
    <Suspense
      fallback={
        <section className="markdown markdown-loading" aria-label={label} aria-busy="true">
          {text}
        </section>
      }
    >
      <MarkdownView text={text} label={label} />
    </Suspense>
  );
}
