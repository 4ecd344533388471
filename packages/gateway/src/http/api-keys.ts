import { createHash, randomBytes } from 'node:crypto';
import type { ApiKeyEntry } from '../config/load-config.js';
import type { Scope } from '../config/schema.js';

/**
 * SHA-256 (lowercase hex) of an API key: what the configuration and the gateway keep instead of the key.
 *
 * @example
 * ```ts
 * const entry = { id: 'iam', sha256: hashApiKey(process.env.IAM_KEY!), scopes: ['ingest'] };
 * ```
 */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/**
 * Makes a new API key: `idr_` and 256 random bits in base64url. Show `key` once to whoever will use it and keep
 * only `sha256`.
 *
 * @example
 * ```ts
 * const { key, entry } = createApiKey('iam', ['ingest', 'preview']);
 * ```
 */
export function createApiKey(
  id: string,
  scopes: readonly Scope[],
): { key: string; sha256: string; entry: ApiKeyEntry } {
  const key = `idr_${randomBytes(32).toString('base64url')}`;
  const sha256 = hashApiKey(key);
  return { key, sha256, entry: { id, sha256, scopes: [...scopes] } };
}
