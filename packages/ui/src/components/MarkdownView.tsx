/**
 * A DAG's or a task's docMd as Markdown (GitHub's flavour: tables, task lists, autolinks).
 * Doc text comes from DAG files, which any DAG author can write, so it is rendered safely:
 * react-markdown builds React elements and never HTML strings, raw HTML in the text is dropped
 * (no `rehype-raw`), and its default URL transform empties `javascript:`, `vbscript:` and other
 * unsafe URLs in links and images. Links open in a new tab without handing it this window.
 */
import type { ComponentProps } from "react";
import ReactMarkdown, { defaultUrlTransform, type Components, type UrlTransform } from "react-markdown";
import remarkGfm from "remark-gfm";

const COMPONENTS: Components = {
  // A link whose URL was emptied (javascript: and the like) keeps its text but links nowhere:
  // href="" in a new tab would open this page again.
  a: ({ node: _node, href, ...props }: ComponentProps<"a"> & { node?: unknown }) =>
    href ? <a {...props} href={href} target="_blank" rel="noopener noreferrer" /> : <a {...props} />,
};

/**
 * The default transform, plus inline images (`data:image/...`) as an image's source: a DAG file
 * has no other place to keep a small picture, and an <img> never runs what it shows (not even SVG's
 * script). A data: URL in a link stays emptied — opened, it would be a page of its own.
 */
const urlTransform: UrlTransform = (url, key, node) =>
  node.tagName === "img" && key === "src" && /^data:image\//i.test(url) ? url : defaultUrlTransform(url);

export default function MarkdownView({ text, label }: { text: string; label: string }) {
  return (
    <section className="markdown" aria-label={label}>
      <ReactMarkdown remarkPlugins={[remarkGfm]} components={COMPONENTS} urlTransform={urlTransform} skipHtml>
        {text}
      </ReactMarkdown>
    </section>
  );
}
