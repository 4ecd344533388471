/** docs/gateway.md carries the configuration reference rendered from the schema, and documents every code. */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { withConfigReference } from '../scripts/config-doc.js';
import { CONFIG_ERRORS, configReference, ENV_OVERRIDES, HTTP_ERRORS } from '../src/index.js';

const doc = readFileSync(resolve(import.meta.dirname, '../../../docs/gateway.md'), 'utf8');

describe('docs/gateway.md', () => {
  it('has the current configuration reference (regenerate with packages/gateway/scripts/gen-docs.ts)', () => {
    expect(doc).toBe(withConfigReference(doc));
  });

  it('lists every error code the gateway adds', () => {
    for (const code of [...Object.keys(HTTP_ERRORS), ...Object.keys(CONFIG_ERRORS)])
      expect(doc).toContain(`\`${code}\``);
  });
});

describe('configReference', () => {
  it('has a row per key with its default, and names every environment variable', () => {
    const rows = new Map(configReference().map((row) => [row.key, row]));
    expect(rows.get('port')).toMatchObject({ type: 'integer 1–65535', default: '8787', env: 'IDRELAY_PORT' });
    expect(rows.get('host')).toMatchObject({ default: '"127.0.0.1"', env: 'IDRELAY_HOST' });
    expect(rows.get('transports.apns.keyPath')).toMatchObject({ env: 'IDRELAY_APNS_KEY_PATH' });
    for (const override of ENV_OVERRIDES) expect(rows.get(override.key)?.env).toBe(override.env);
    for (const row of rows.values()) expect(row.description, row.key).not.toBe('');
  });
});
