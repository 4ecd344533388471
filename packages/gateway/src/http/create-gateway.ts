import { type Logger, type Store, silentLogger } from '@idrelay/core';
import { type ActionRequest, problemResponse, type Relay } from '@idrelay/engine';
import { Hono, type MiddlewareHandler } from 'hono';
import { type ApiKeyEntry, type GatewayConfig, resolveConfig } from '../config/load-config.js';
import { createAuthenticator, type Principal } from './auth.js';
import { readEvents } from './events-input.js';
import { createHandlers, jsonResponse, type RouteInput } from './handlers.js';
import { httpError, problem } from './http-errors.js';
import { createLifecycle } from './lifecycle.js';
import type { OpenApiDocument } from './openapi.js';
import { createRateLimiter } from './rate-limit.js';
import { isJsonType, mediaType, parseJson, readBody } from './read-body.js';
import { METRICS_ROUTE, ROUTES, type RouteSpec, routeParams } from './routes.js';
import { createServiceRoutes } from './service-routes.js';
import { validate } from './validate.js';

/** Prometheus metrics, as the observability module provides them. */
export interface GatewayMetrics {
  /** The exposition text of every metric. */
  render(): Promise<string>;
  /** `Content-Type` of `render()`'s text. */
  contentType: string;
  /** Runs around every request (HTTP latency, counts). */
  middleware?: MiddlewareHandler;
}

/** Options of {@link createGateway}. */
export interface GatewayOptions {
  /** The relay; create it with `actions: gatewayActionUrls(config.publicUrl)`. Not started or closed here. */
  relay: Relay;
  /** The relay's store, for readiness and delivery inspection. Not closed here. */
  store: Store;
  /** From `loadConfig()`; default the built-in defaults (no API keys: every authenticated route refuses). */
  config?: GatewayConfig;
  /** API keys instead of `config.apiKeys`. */
  apiKeys?: readonly ApiKeyEntry[];
  /** Time source for webhook windows and rate limits; default `Date`. */
  clock?: { now(): number };
  /** A pino-compatible logger for refusals the server caused (5xx); default silent. */
  logger?: Logger;
  /** Logs one line per request; mounted first. */
  requestLog?: MiddlewareHandler;
  /** Mounts `GET /metrics` and the metrics middleware. */
  metrics?: GatewayMetrics;
  /** Extra readiness checks by name (transports, stand-ins): resolve when ready, throw or reject when not. */
  readiness?: Readonly<Record<string, () => unknown>>;
  /** `info.version` of the OpenAPI document. Default `1.0.0`. */
  version?: string;
}

/** What {@link createGateway} returns. */
export interface Gateway {
  /** The Hono app: mount it elsewhere, or add routes (a console) before serving. */
  app: Hono;
  /** Web-standard handler of every route. */
  fetch(request: Request): Promise<Response>;
  /** The OpenAPI 3.1 document served at `/openapi.json` (built on first read). */
  readonly openapi: OpenApiDocument;
  /**
   * Serves over HTTP with `@hono/node-server` on `config.host:config.port` (or the given ones; port 0 picks a free
   * one); resolves once listening.
   */
  listen(options?: { port?: number; host?: string }): Promise<{ url: string; port: number }>;
  /**
   * Stops accepting (new requests get 503 `ERR_HTTP_UNAVAILABLE`; a listening server stops accepting
   * connections) and waits for requests in flight, at most `config.shutdownTimeoutMs`. Closes neither the relay
   * nor the store. Calling it again returns the same promise.
   */
  close(): Promise<void>;
}

const toHonoPath = (path: string) => path.replace(/\{(\w+)\}/g, ':$1');
const toPattern = (path: string) => new RegExp(`^${path.replace(/\{\w+\}/g, '[^/]+')}$`);

/**
 * The gateway's HTTP API on Hono: `/v1/events`, devices, `/v1/actions`, details, verifications, preview, flows,
 * deliveries, `/openapi.json`, `/docs`, `/healthz`, `/readyz` (and `/metrics` when given). Every refusal is an RFC
 * 9457 problem document with idrelay's `code`. The engine's web-standard action handlers are mounted as they are.
 *
 * @example
 * ```ts
 * const gateway = createGateway({ relay, store, config });
 * await gateway.listen();
 * process.on('SIGTERM', () => void gateway.close().then(() => relay.close()));
 * ```
 */
export function createGateway(options: GatewayOptions): Gateway {
  const { relay, store } = options;
  const config = options.config ?? resolveConfig({}, { cwd: process.cwd(), env: {} });
  const logger = options.logger ?? silentLogger;
  const now = options.clock ? () => (options.clock as { now(): number }).now() : () => Date.now();
  const auth = createAuthenticator({
    apiKeys: options.apiKeys ?? config.apiKeys,
    webhooks: config.webhooks.secrets,
    toleranceSeconds: config.webhooks.toleranceSeconds,
    now,
  });
  const ingestLimiter = createRateLimiter({
    rate: config.limits.ingest.perSecond,
    intervalMs: 1000,
    burst: config.limits.ingest.burst,
    now,
  });
  const verificationLimiter = createRateLimiter({
    rate: config.limits.verifications.perMinute,
    intervalMs: 60_000,
    burst: config.limits.verifications.burst,
    now,
  });
  const handlers = createHandlers({ relay, store, verificationLimiter });
  const routes = options.metrics ? [...ROUTES, METRICS_ROUTE] : [...ROUTES];
  const service = createServiceRoutes({
    routes,
    store,
    logger,
    publicUrl: config.publicUrl,
    version: options.version ?? '1.0.0',
    ...(options.readiness ? { readiness: options.readiness } : {}),
    ...(options.metrics ? { metrics: options.metrics } : {}),
  });
  const lifecycle = createLifecycle({ shutdownTimeoutMs: config.shutdownTimeoutMs, logger });
  const patterns = routes.map((r) => ({ route: r, pattern: toPattern(r.path) }));

  const app = new Hono();
  if (options.requestLog) app.use('*', options.requestLog);
  if (options.metrics?.middleware) app.use('*', options.metrics.middleware);
  app.use('*', lifecycle.middleware);

  async function refuse(error: unknown, principal?: Principal): Promise<Response> {
    if (principal) auth.release(principal);
    const code = (error as { code?: string }).code;
    const headers: Record<string, string> = {};
    if (code === 'ERR_AUTH_MISSING' || code === 'ERR_AUTH_INVALID') headers['www-authenticate'] = 'Bearer';
    const response = await problem(error, headers);
    if (response.status >= 500) logger.error({ err: error, code }, 'a request failed');
    return response;
  }

  /** Auth, content type, body limit, signature and JSON parsing, in that order, then the handler. */
  async function run(route: RouteSpec, request: Request, params: Record<string, string>): Promise<Response> {
    let principal: Principal | undefined;
    try {
      const scoped = route.auth.kind === 'scopes' ? route.auth : undefined;
      const signed = scoped?.webhook === true && auth.isWebhook(request.headers);
      const ingesting = route.operationId === 'ingestEvents';
      // Charged as soon as the caller is known, so a caller over its rate costs no body read.
      const charge = (p: Principal) => ingestLimiter.take(`${p.kind}:${p.id}`, `${p.kind} ${p.id}`);
      if (scoped && !signed) {
        principal = auth.apiKey(request.headers);
        auth.requireScope(principal, scoped.scopes);
        if (ingesting) charge(principal);
      }
      for (const { name, schema } of routeParams(route.path)) {
        validate(schema, params[name], 'ERR_HTTP_INVALID_REQUEST');
      }
      let raw: Uint8Array | undefined;
      let body: unknown;
      if (route.body) {
        const type = mediaType(request.headers);
        const binary = ingesting && request.headers.has('ce-specversion');
        if (!(binary ? isJsonType(type) : route.body.mediaTypes.includes(type))) {
          throw httpError(
            'ERR_HTTP_UNSUPPORTED_MEDIA_TYPE',
            `Expected Content-Type ${route.body.mediaTypes.join(' or ')}, got ${type || 'none'}`,
          );
        }
        const limit = route.body.limit === 'events' ? config.limits.eventsBodyBytes : config.limits.deviceBodyBytes;
        raw = await readBody(request, limit);
      }
      if (scoped && signed) {
        principal = auth.webhook(request.headers, raw ?? new Uint8Array(0));
        auth.requireScope(principal, scoped.scopes);
        if (ingesting) charge(principal);
      }
      if (ingesting) {
        const { events, batch } = readEvents(request.headers, raw as Uint8Array);
        return await handlers.ingestEvents(events, batch);
      }
      if (raw !== undefined) body = parseJson(raw);
      return await dispatch(route, { request, params, body, raw });
    } catch (error) {
      return refuse(error, principal);
    }
  }

  async function dispatch(route: RouteSpec, input: RouteInput): Promise<Response> {
    switch (route.operationId) {
      case 'respond':
        // The body is read and parsed above; answered here as `actionHandlers.respond` answers (the result as JSON,
        // a refusal as its problem document) without a second Request to hold the body and a second parse of it.
        try {
          return jsonResponse(await relay.respond(input.body as ActionRequest));
        } catch (error) {
          return problemResponse(error);
        }
      case 'notificationDetails':
        return relay.actionHandlers.details(input.request, { notificationId: input.params.notificationId as string });
      default: {
        const answer = await service.respond(route.operationId);
        if (answer !== undefined) return answer;
        const handler = (handlers as unknown as Record<string, (input: RouteInput) => Promise<Response>>)[
          route.operationId
        ];
        if (handler === undefined) throw new Error(`No handler for ${route.operationId}`);
        return handler(input);
      }
    }
  }

  for (const route of routes) {
    app.on(route.method, toHonoPath(route.path), (c) => run(route, c.req.raw, c.req.param() as Record<string, string>));
  }
  app.notFound(async (c) => {
    const path = c.req.path;
    const allowed = patterns.filter((p) => p.pattern.test(path)).map((p) => p.route.method);
    if (allowed.length > 0) {
      const allow = [...new Set(allowed.flatMap((m) => (m === 'GET' ? ['GET', 'HEAD'] : [m])))].join(', ');
      return problem(httpError('ERR_HTTP_METHOD_NOT_ALLOWED', `${c.req.method} is not allowed on ${path}`), {
        allow,
      });
    }
    return problem(httpError('ERR_HTTP_NOT_FOUND', `No route for ${path}`));
  });
  app.onError((error) => refuse(error));

  const fetch = async (request: Request) => app.fetch(request);

  return {
    app,
    fetch,
    get openapi() {
      return service.document();
    },
    listen(listenOptions = {}) {
      return lifecycle.listen(app.fetch, listenOptions.host ?? config.host, listenOptions.port ?? config.port);
    },
    close: () => lifecycle.close(),
  };
}
