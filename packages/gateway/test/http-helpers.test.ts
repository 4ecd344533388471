/** The helpers the CLI and tests share with the gateway: action URLs and API keys. */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createApiKey, gatewayActionUrls, hashApiKey } from '../src/index.js';

describe('gatewayActionUrls', () => {
  it('names the gateway’s own details and respond routes under the public URL', () => {
    expect(gatewayActionUrls('https://relay.example.com/')).toEqual({
      detailsUrl: 'https://relay.example.com/v1/notifications/{notificationId}/details',
      respondUrl: 'https://relay.example.com/v1/actions',
    });
    expect(gatewayActionUrls('http://127.0.0.1:8787').respondUrl).toBe('http://127.0.0.1:8787/v1/actions');
  });

  it('refuses a URL devices could not use', () => {
    expect(() => gatewayActionUrls('relay.example.com')).toThrow(TypeError);
    expect(() => gatewayActionUrls('ftp://relay.example.com')).toThrow(TypeError);
  });
});

describe('createApiKey', () => {
  it('makes idr_ + 256 random bits, and an entry holding only its SHA-256', () => {
    const a = createApiKey('iam', ['ingest']);
    const b = createApiKey('iam', ['ingest']);
    expect(a.key).toMatch(/^idr_[A-Za-z0-9_-]{43}$/);
    expect(a.key).not.toBe(b.key);
    expect(a.entry).toEqual({
      id: 'iam',
      sha256: createHash('sha256').update(a.key).digest('hex'),
      scopes: ['ingest'],
    });
    expect(hashApiKey(a.key)).toBe(a.sha256);
    expect(JSON.stringify(a.entry)).not.toContain(a.key.slice(4));
  });
});
