/**
 * `@idrelay/gateway`: the runnable idrelay service — configuration (`defineConfig`, `loadConfig`) and the HTTP API
 * (`createGateway`) on Hono, mounting the engine's web-standard handlers; outbound webhooks on the relay's durable
 * outgoing path (`createWebhookSubscriptions`), Prometheus metrics and redacting logs (`createMetrics`, `createLogger`).
 *
 * @packageDocumentation
 */

export { CONFIG_ERRORS } from './config/config-errors.js';
export { ENV_OVERRIDES, type EnvOverride } from './config/env.js';
export {
  type ApiKeyEntry,
  CONFIG_FILES,
  defineConfig,
  type GatewayConfig,
  type LoadConfigOptions,
  type LoadedConfig,
  loadConfig,
  resolveConfig,
} from './config/load-config.js';
export { type ConfigReferenceRow, configReference, renderConfigReference } from './config/reference.js';
export { configSchema, type GatewayConfigInput, SCOPES, type Scope } from './config/schema.js';
export { gatewayActionUrls } from './http/action-urls.js';
export { createApiKey, hashApiKey } from './http/api-keys.js';
export type { Principal, WebhookSender } from './http/auth.js';
export {
  createGateway,
  type Gateway,
  type GatewayMetrics,
  type GatewayOptions,
} from './http/create-gateway.js';
export { renderDocsPage } from './http/docs-page.js';
export { EVENT_MEDIA_TYPES, MAX_BATCH } from './http/events-input.js';
export { HTTP_ERRORS, type HttpErrorCode } from './http/http-errors.js';
export { buildOpenApi, type OpenApiDocument } from './http/openapi.js';
export { METRICS_ROUTE, ROUTES, type RouteAuth, type RouteResponse, type RouteSpec } from './http/routes.js';
export {
  createLogger,
  createMetrics,
  createRequestLog,
  type LoggerOptions,
  logDeliveries,
  logWebhooks,
  type Metrics,
  type MetricsOptions,
  REDACTED_PATHS,
} from './observability/index.js';
export {
  type AttemptOutcome,
  CLOUDEVENTS_JSON,
  createDeliveryLog,
  createWebhookReceiver,
  createWebhookSubscriptions,
  createWebhookWriteBack,
  type DeliveryAttempt,
  type DeliveryLog,
  type ReceivedWebhook,
  WEBHOOK_ERRORS,
  type WebhookErrorCode,
  type WebhookReceiver,
  type WebhookReceiverOptions,
  type WebhookSubscription,
  type WebhookSubscriptions,
  type WebhookSubscriptionsOptions,
  type WebhookWriteBack,
  type WebhookWriteBackOptions,
  webhookId,
} from './outbound/index.js';
