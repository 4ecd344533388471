/**
 * `@idrelay/gateway`: the runnable idrelay service — configuration (`defineConfig`, `loadConfig`) and the HTTP API
 * (`createGateway`) on Hono, mounting the engine's web-standard handlers.
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
