/**
 * Finds the Quick start of a package README: the first ```ts block under its "## Quick start" heading, up to the
 * next "## " heading.
 */
export function quickStartSnippet(markdown: string): string | undefined {
  const heading = /^## Quick start[^\n]*\n/m.exec(markdown);
  if (!heading) return undefined;
  const rest = markdown.slice(heading.index + heading[0].length);
  const next = /^## /m.exec(rest);
  const section = next ? rest.slice(0, next.index) : rest;
  return /^```ts\n([\s\S]*?)^```/m.exec(section)?.[1];
}
