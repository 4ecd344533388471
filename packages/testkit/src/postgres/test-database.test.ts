import { createServer } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_POSTGRES_TEST_URL, postgresTestUrl, randomSchemaName, requirePostgres } from './test-database.js';

// Port 1 on loopback: nothing listens there, so connecting is refused at once.
const NOWHERE = 'postgres://postgres@127.0.0.1:1/test';

describe('requirePostgres', () => {
  afterEach(() => vi.restoreAllMocks());

  it('skips with a message naming the server when it is unreachable outside CI', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const found = await requirePostgres({ url: NOWHERE, env: {} });
    expect(found).toEqual({ url: NOWHERE, available: false, reason: 'ECONNREFUSED' });
    expect(warn.mock.calls[0]?.[0]).toMatch(/127\.0\.0\.1:1\/test is unreachable \(ECONNREFUSED\): skipping/);
  });

  it('fails under CI=true, because a missing server must fail the run', async () => {
    await expect(requirePostgres({ url: NOWHERE, env: { CI: 'true' } })).rejects.toThrow(
      /unreachable \(ECONNREFUSED\); CI=true/,
    );
  });

  it('reports a server that accepts connections as available', async () => {
    const server = createServer((socket) => socket.end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    const url = `postgres://postgres@127.0.0.1:${port}/test`;
    expect(await requirePostgres({ url, env: { CI: 'true' } })).toEqual({ url, available: true });
    await new Promise((resolve) => server.close(resolve));
  });

  it('reads IDRELAY_TEST_DATABASE_URL, never DATABASE_URL', () => {
    expect(postgresTestUrl({ DATABASE_URL: 'postgres://prod/relay' })).toBe(DEFAULT_POSTGRES_TEST_URL);
    expect(postgresTestUrl({ IDRELAY_TEST_DATABASE_URL: 'postgres://ci/test' })).toBe('postgres://ci/test');
  });

  it('makes distinct schema names that are plain identifiers', () => {
    const names = new Set(Array.from({ length: 50 }, () => randomSchemaName('outbox')));
    expect(names.size).toBe(50);
    for (const name of names) expect(name).toMatch(/^outbox_[0-9a-f]{12}$/);
    expect(() => randomSchemaName('Bad-Prefix')).toThrow(TypeError);
  });
});
