import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isIdrelayError } from '@idrelay/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defineConfig, loadConfig, resolveConfig } from '../src/index.js';

const KEY = `idr_${'k'.repeat(43)}`;
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'idrelay-config-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function refusal(promise: Promise<unknown>): Promise<{ code: string; message: string; details: unknown }> {
  try {
    await promise;
  } catch (error) {
    if (isIdrelayError(error)) return { code: error.code, message: error.message, details: error.details };
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('loadConfig', () => {
  it('needs no file: SQLite under .idrelay in cwd, 127.0.0.1:8787, sandbox transports', async () => {
    const { config, file } = await loadConfig({ cwd: dir, env: {} });
    expect(file).toBeUndefined();
    expect(config).toMatchObject({
      host: '127.0.0.1',
      port: 8787,
      publicUrl: 'http://127.0.0.1:8787',
      dataDir: join(dir, '.idrelay'),
      store: { kind: 'sqlite', path: join(dir, '.idrelay', 'relay.db') },
      transports: { sandbox: true },
      apiKeys: [],
    });
    expect(config.transports.apns).toBeUndefined();
  });

  it('reads idrelay.config.json and resolves relative paths against cwd', async () => {
    await writeFile(
      join(dir, 'idrelay.config.json'),
      JSON.stringify({
        port: 9100,
        store: { kind: 'sqlite', path: 'db/relay.sqlite' },
        transports: {
          apns: { keyPath: 'keys/AuthKey.p8', keyId: 'ABCDE12345', teamId: 'TEAM123456', topic: 'com.acme' },
        },
      }),
    );
    const { config, file } = await loadConfig({ cwd: dir, env: {} });
    expect(file).toBe(join(dir, 'idrelay.config.json'));
    expect(config.port).toBe(9100);
    expect(config.store).toEqual({ kind: 'sqlite', path: join(dir, 'db/relay.sqlite') });
    expect(config.transports.apns).toMatchObject({ keyPath: join(dir, 'keys/AuthKey.p8'), environment: 'production' });
  });

  it('imports idrelay.config.ts (default export through defineConfig)', async () => {
    await writeFile(
      join(dir, 'idrelay.config.ts'),
      `const port: number = 9200;\nexport default { port, logLevel: 'debug' };\n`,
    );
    const { config } = await loadConfig({ cwd: dir, env: {} });
    expect(config).toMatchObject({ port: 9200, logLevel: 'debug' });
  });

  it('reads a named file (relative to cwd) over the default names, and .mjs', async () => {
    await writeFile(join(dir, 'idrelay.config.json'), JSON.stringify({ port: 1111 }));
    await writeFile(join(dir, 'staging.mjs'), 'export const config = { port: 2222, host: "0.0.0.0" };\n');
    const { config, file } = await loadConfig({ cwd: dir, env: {}, file: 'staging.mjs' });
    expect(file).toBe(join(dir, 'staging.mjs'));
    expect(config).toMatchObject({ port: 2222, host: '0.0.0.0', publicUrl: 'http://0.0.0.0:2222' });
  });

  it('takes a memory store and an IPv6 host', () => {
    expect(resolveConfig({ store: { kind: 'memory' }, host: '::1' }, { cwd: dir })).toMatchObject({
      store: { kind: 'memory' },
      publicUrl: 'http://[::1]:8787',
    });
  });

  it('applies environment overrides over the file', async () => {
    await writeFile(join(dir, 'idrelay.config.json'), JSON.stringify({ port: 9100, host: '0.0.0.0' }));
    const { config } = await loadConfig({
      cwd: dir,
      env: {
        IDRELAY_PORT: '9300',
        IDRELAY_PUBLIC_URL: 'https://relay.example.com/',
        DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/idrelay',
        IDRELAY_API_KEYS: `${KEY}:ingest+admin`,
        IDRELAY_SANDBOX: 'false',
        IDRELAY_LOG_LEVEL: 'warn',
      },
    });
    expect(config).toMatchObject({
      host: '0.0.0.0',
      port: 9300,
      publicUrl: 'https://relay.example.com',
      logLevel: 'warn',
      store: { kind: 'postgres', url: 'postgres://postgres@127.0.0.1:5432/idrelay' },
      transports: { sandbox: false },
    });
    expect(config.apiKeys).toEqual([
      {
        id: 'env-1',
        sha256: createHash('sha256').update(KEY).digest('hex'),
        scopes: ['ingest', 'admin'],
      },
    ]);
    expect(JSON.stringify(config)).not.toContain(KEY);
  });

  it('names the bad key, and the variable it came from', async () => {
    expect(await refusal(loadConfig({ cwd: dir, env: { IDRELAY_PORT: '70000' } }))).toMatchObject({
      code: 'ERR_CONFIG_INVALID',
      message: 'port: expected a number between 1 and 65535 (from IDRELAY_PORT)',
    });
    await writeFile(join(dir, 'idrelay.config.json'), JSON.stringify({ port: 'eighty', colour: 'blue' }));
    const bad = await refusal(loadConfig({ cwd: dir, env: {} }));
    expect(bad.code).toBe('ERR_CONFIG_INVALID');
    expect(bad.message).toMatch(/^port: expected a number between 1 and 65535 \(and 1 more\) in /);
    expect(bad.details).toMatchObject({
      issues: [
        { key: 'port', message: 'expected a number between 1 and 65535' },
        { key: '(root)', message: 'unknown key(s) colour' },
      ],
    });
  });

  it('refuses incomplete credentials and malformed keys by name', () => {
    const cwd = dir;
    expect(() => resolveConfig({ transports: { apns: { keyPath: 'k.p8', topic: 'com.acme' } } }, { cwd })).toThrow(
      'transports.apns.keyId: required',
    );
    expect(() => resolveConfig({ apiKeys: [{ id: 'iam', key: 'secret', scopes: ['ingest'] }] }, { cwd })).toThrow(
      'apiKeys.0.key: expected idr_ followed by at least 32 base64url characters',
    );
    expect(() => resolveConfig({ apiKeys: [{ id: 'iam', key: KEY, scopes: ['root'] }] }, { cwd })).toThrow(
      'apiKeys.0.scopes.0: expected one of ingest, preview, admin',
    );
    expect(() => resolveConfig({ store: { kind: 'mysql' } }, { cwd })).toThrow(
      'store.kind: expected kind sqlite, postgres or memory',
    );
    expect(() => resolveConfig({ webhooks: { secrets: [{ id: 'iam', secret: 'hunter2' }] } }, { cwd })).toThrow(
      'webhooks.secrets.0.secret: expected whsec_ followed by a base64 secret',
    );
  });

  it('fails with ERR_CONFIG_FILE for a named file that does not exist or does not parse', async () => {
    expect(await refusal(loadConfig({ cwd: dir, env: {}, file: 'nope.json' }))).toMatchObject({
      code: 'ERR_CONFIG_FILE',
    });
    await writeFile(join(dir, 'idrelay.config.json'), '{ "port": ');
    expect(await refusal(loadConfig({ cwd: dir, env: {} }))).toMatchObject({ code: 'ERR_CONFIG_FILE' });
  });

  it('defineConfig returns its argument', () => {
    const input = { port: 1234 };
    expect(defineConfig(input)).toBe(input);
  });
});
