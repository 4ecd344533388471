/** `/openapi.json` is a valid OpenAPI 3.1 document listing every route the gateway serves; `/docs` renders it. */
import { compileErrors, validate } from '@readme/openapi-parser';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ROUTES } from '../src/index.js';
import { createTestGateway, type TestGateway } from './http-support.js';

let t: TestGateway;
beforeEach(async () => {
  t = await createTestGateway();
});
afterEach(() => t.close());

const fill = (path: string) => path.replace(/\{\w+\}/g, 'x');

describe('/openapi.json', () => {
  it('validates as OpenAPI 3.1 with @readme/openapi-parser', async () => {
    const doc = await (await t.request('/openapi.json')).json();
    const result = await validate(structuredClone(doc) as never);
    expect(result.valid, result.valid ? '' : compileErrors(result)).toBe(true);
    expect(doc).toMatchObject({ openapi: '3.1.0', servers: [{ url: 'https://relay.example.com' }] });
  });

  it('lists every route, with the methods the app answers', async () => {
    const doc = (await (await t.request('/openapi.json')).json()) as { paths: Record<string, Record<string, unknown>> };
    const listed = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
    );
    expect(listed.sort()).toEqual(ROUTES.map((r) => `${r.method} ${r.path}`).sort());
    // Every listed route exists: none answers 404 ERR_HTTP_NOT_FOUND or 405.
    for (const route of ROUTES) {
      const response = await t.request(fill(route.path), { method: route.method });
      const body = response.headers.get('content-type')?.includes('json') ? await response.json() : {};
      expect([route.path, (body as { code?: string }).code]).not.toEqual([route.path, 'ERR_HTTP_NOT_FOUND']);
      expect(response.status, `${route.method} ${route.path}`).not.toBe(405);
    }
  });

  it('documents request bodies with the schemas that validate them', async () => {
    const doc = t.gateway.openapi as unknown as {
      paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: unknown }> } }>>;
      components: { schemas: Record<string, { required?: string[]; oneOf?: unknown[]; anyOf?: unknown[] }> };
    };
    const enrol = doc.paths['/v1/devices/enrol']?.post?.requestBody?.content['application/json']?.schema;
    expect(enrol).toEqual({ $ref: '#/components/schemas/Enrolment' });
    expect(doc.components.schemas.Enrolment?.oneOf ?? doc.components.schemas.Enrolment?.anyOf).toHaveLength(3);
    const events = doc.paths['/v1/events']?.post?.requestBody?.content;
    expect(Object.keys(events ?? {})).toEqual([
      'application/cloudevents+json',
      'application/cloudevents-batch+json',
      'application/json',
    ]);
    expect(doc.components.schemas.CloudEvent?.required).toEqual(['specversion', 'id', 'source', 'type']);
    expect(doc.components.schemas.Problem?.required).toEqual(
      expect.arrayContaining(['type', 'title', 'status', 'detail', 'code']),
    );
  });
});

describe('/docs', () => {
  it('is a self-contained HTML page of every route, loading nothing from elsewhere', async () => {
    const response = await t.request('/docs');
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(response.headers.get('content-security-policy')).toContain("default-src 'none'");
    const html = await response.text();
    for (const route of ROUTES) expect(html).toContain(`${route.path}</code>`);
    expect(html).not.toMatch(/<script|https?:\/\/(?!relay\.example\.com)[^"' ]*\.(js|css)/);
  });
});
