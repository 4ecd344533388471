import type { Logger, Store } from '@idrelay/core';
import { renderDocsPage } from './docs-page.js';
import { jsonResponse } from './handlers.js';
import { buildOpenApi, type OpenApiDocument } from './openapi.js';
import type { RouteSpec } from './routes.js';

/** What {@link createServiceRoutes} needs. */
export interface ServiceRoutesOptions {
  routes: readonly RouteSpec[];
  store: Store;
  logger: Logger;
  publicUrl: string;
  version: string;
  readiness?: Readonly<Record<string, () => unknown>>;
  metrics?: { render(): Promise<string>; contentType: string };
}

/**
 * The operator's routes: `/healthz`, `/readyz` (the store answers a query, every extra check passes),
 * `/openapi.json` and `/docs` (built on first use: converting every schema takes tens of milliseconds a start need
 * not wait for), `/metrics`.
 */
export function createServiceRoutes(options: ServiceRoutesOptions) {
  let openapi: OpenApiDocument | undefined;
  let docsPage: string | undefined;
  const document = () =>
    (openapi ??= buildOpenApi(options.routes, {
      title: 'idrelay gateway',
      version: options.version,
      serverUrl: options.publicUrl,
    }));

  async function readiness(): Promise<Response> {
    const checks: Record<string, string> = {};
    const probes: [string, () => unknown][] = [
      ['store', () => options.store.events.get('readyz#probe')],
      ...Object.entries(options.readiness ?? {}),
    ];
    await Promise.all(
      probes.map(async ([name, probe]) => {
        try {
          await probe();
          checks[name] = 'ok';
        } catch (error) {
          checks[name] = 'unavailable';
          options.logger.warn({ check: name, err: error }, 'a readiness check failed');
        }
      }),
    );
    const ready = Object.values(checks).every((v) => v === 'ok');
    return jsonResponse({ status: ready ? 'ready' : 'unavailable', checks }, ready ? 200 : 503);
  }

  return {
    document,
    /** The answer of a service route, or `undefined` for an operation that is not one. */
    async respond(operationId: string): Promise<Response | undefined> {
      switch (operationId) {
        case 'health':
          return jsonResponse({ status: 'ok' });
        case 'ready':
          return readiness();
        case 'openapi':
          return new Response(JSON.stringify(document()), {
            headers: { 'content-type': 'application/json', 'cache-control': 'public, max-age=300' },
          });
        case 'docs':
          docsPage ??= renderDocsPage(document());
          return new Response(docsPage, {
            headers: {
              'content-type': 'text/html; charset=utf-8',
              'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'",
            },
          });
        case 'metrics':
          if (options.metrics === undefined) return undefined;
          return new Response(await options.metrics.render(), {
            headers: { 'content-type': options.metrics.contentType, 'cache-control': 'no-store' },
          });
        default:
          return undefined;
      }
    },
  };
}
