import type { OpenApiDocument } from './openapi.js';

const esc = (text: unknown): string => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Inline code spans of the document's markdown-ish text, escaped. */
const prose = (text: unknown): string => esc(text ?? '').replace(/`([^`]+)`/g, '<code>$1</code>');

interface Operation {
  operationId: string;
  summary: string;
  description?: string;
  tags: string[];
  security: Record<string, unknown>[];
  'x-idrelay-scopes'?: string[];
  parameters?: { name: string; in: string; required: boolean; description?: string; schema: unknown }[];
  requestBody?: { content: Record<string, { schema: unknown }> };
  responses: Record<string, { description: string; content?: Record<string, { schema: unknown }> }>;
}

function authText(op: Operation): string {
  if (op['x-idrelay-scopes']) {
    const webhook = op.security.some((s) => 'standardWebhooks' in s) ? ' or a Standard Webhooks signature' : '';
    return `API key with scope ${op['x-idrelay-scopes'].map((s) => `<code>${esc(s)}</code>`).join(' or ')}${webhook}`;
  }
  if (op.security.some((s) => 'bearer' in s)) return 'enrolment code in the body, or a bearer token';
  if (op.tags.includes('actions')) return 'device-signed proof (docs/protocol.md)';
  return 'none';
}

/** A named schema as a link to its definition below; anything else as JSON. */
function schemaHtml(schema: unknown): string {
  const ref = (schema as { $ref?: string } | undefined)?.$ref;
  if (typeof ref === 'string') {
    const name = ref.split('/').pop() ?? '';
    return `<p><a href="#schema-${esc(name)}">${esc(name)}</a></p>`;
  }
  return `<pre>${esc(JSON.stringify(schema, null, 2))}</pre>`;
}

function operationHtml(path: string, method: string, op: Operation): string {
  const params = (op.parameters ?? [])
    .map(
      (p) =>
        `<tr><td><code>${esc(p.name)}</code></td><td>${esc(p.in)}</td><td>${p.required ? 'yes' : ''}</td><td>${prose(
          p.description ?? (p.schema as { description?: string })?.description ?? '',
        )}</td></tr>`,
    )
    .join('');
  const body = op.requestBody
    ? `<h4>Body (${Object.keys(op.requestBody.content).map(esc).join(', ')})</h4>${schemaHtml(
        Object.values(op.requestBody.content)[0]?.schema,
      )}`
    : '';
  const entries = Object.entries(op.responses);
  const problems = entries.filter(([, r]) => r.content?.['application/problem+json']).map(([status]) => esc(status));
  const responses = entries
    .filter(([, r]) => !r.content?.['application/problem+json'])
    .map(([status, r]) => `<li><b>${esc(status)}</b> ${prose(r.description)}</li>`)
    .concat(
      problems.length > 0
        ? [
            `<li><b>${problems.join(', ')}</b> refusals: <a href="#schema-Problem">Problem</a> (application/problem+json)</li>`,
          ]
        : [],
    )
    .join('');
  return `<section id="${esc(op.operationId)}">
<h3><span class="m ${esc(method)}">${esc(method.toUpperCase())}</span> <code>${esc(path)}</code></h3>
<p>${prose(op.summary)}</p>${op.description ? `<p>${prose(op.description)}</p>` : ''}
<p><b>Auth:</b> ${authText(op)}</p>
${params ? `<table><tr><th>parameter</th><th>in</th><th>required</th><th></th></tr>${params}</table>` : ''}
${body}<h4>Answers</h4><ul>${responses}</ul></section>`;
}

/**
 * A self-contained HTML page of the API reference, rendered on the server from the OpenAPI document: no script,
 * no CDN, nothing fetched (the gateway may run without internet access).
 */
export function renderDocsPage(doc: OpenApiDocument): string {
  const info = doc.info as { title: string; version: string; description: string };
  const sections: string[] = [];
  const toc: string[] = [];
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods as Record<string, Operation>)) {
      sections.push(operationHtml(path, method, op));
      toc.push(
        `<li><a href="#${esc(op.operationId)}"><span class="m ${esc(method)}">${esc(
          method.toUpperCase(),
        )}</span> ${esc(path)}</a></li>`,
      );
    }
  }
  const schemas = (doc.components as { schemas: Record<string, unknown> }).schemas;
  const components = Object.entries(schemas)
    .map(
      ([name, schema]) =>
        `<h3 id="schema-${esc(name)}">${esc(name)}</h3><pre>${esc(JSON.stringify(schema, null, 2))}</pre>`,
    )
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(info.title)} API reference</title>
<style>
body{font:15px/1.5 system-ui,sans-serif;margin:0;display:flex;color:#1d2330}
nav{width:20rem;padding:1rem;border-right:1px solid #ddd;height:100vh;overflow:auto;position:sticky;top:0;font-size:13px}
nav ul{list-style:none;padding:0}main{padding:1rem 2rem;max-width:60rem}
section{border-bottom:1px solid #eee;padding-bottom:1rem}pre{background:#f5f6f8;padding:.6rem;overflow:auto;font-size:12px}
table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:.2rem .5rem;text-align:left}
.m{display:inline-block;min-width:3.6rem;font:bold 11px monospace;color:#fff;border-radius:3px;padding:1px 4px;text-align:center}
.get{background:#2f7d32}.post{background:#1f5fbf}.patch{background:#a86400}.delete{background:#b3261e}
</style></head><body>
<nav><b>${esc(info.title)}</b> ${esc(info.version)}<ul>${toc.join('')}</ul><a href="/openapi.json">openapi.json</a></nav>
<main><h1>${esc(info.title)} API reference</h1><p>${prose(info.description)}</p>
${sections.join('\n')}<h2>Schemas</h2>${components}</main></body></html>`;
}
