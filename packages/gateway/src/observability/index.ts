export { createLogger, type LoggerOptions, REDACTED_PATHS } from './logger.js';
export { createMetrics, type Metrics, type MetricsOptions } from './metrics.js';
export { createRequestLog, logDeliveries, logWebhooks } from './request-log.js';
