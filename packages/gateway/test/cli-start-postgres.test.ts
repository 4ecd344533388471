/** `idrelay start` with DATABASE_URL: the store is PostgreSQL (a scratch database), ready, and stops cleanly. */
import { randomBytes } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, requirePostgres } from '@idrelay/testkit';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/run.js';

const postgres = await requirePostgres();

describe.skipIf(!postgres.available)('idrelay start on PostgreSQL', () => {
  it('uses DATABASE_URL, answers /readyz and exits 0 on the stop signal', async () => {
    const name = `idrelay_cli_${randomBytes(4).toString('hex')}`;
    const admin = new pg.Client({ connectionString: postgres.url });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    const url = new URL(postgres.url);
    url.pathname = `/${name}`;
    try {
      const port = await freePort();
      let stop: (signal: string) => void = () => {};
      let stderr = '';
      let listening: () => void = () => {};
      const ready = new Promise<void>((resolve) => (listening = resolve));
      const run = runCli(['start', '--port', String(port)], {
        stdout: { write: () => true },
        stderr: {
          write: (s: string) => {
            stderr += s;
            if (stderr.includes('Listening on http')) listening();
            return true;
          },
        },
        env: { DATABASE_URL: url.href, IDRELAY_LOG_LEVEL: 'silent' },
        cwd: await mkdtemp(join(tmpdir(), 'idrelay-pg-')),
        stopSignal: new Promise((resolve) => (stop = resolve)),
      });
      await Promise.race([ready, run.then((code) => Promise.reject(new Error(`exited ${code}: ${stderr}`)))]);
      expect(stderr).toContain('Opening the postgres store');
      const readyz = await fetch(`http://127.0.0.1:${port}/readyz`);
      expect(readyz.status).toBe(200);
      stop('SIGTERM');
      expect(await run).toBe(0);
      expect(stderr).toContain('Stopped cleanly');
      const scratch = new pg.Client({ connectionString: url.href });
      await scratch.connect();
      const tables = await scratch.query(
        `SELECT count(*)::int AS n FROM pg_catalog.pg_tables WHERE schemaname = 'idrelay'`,
      );
      await scratch.end();
      expect(tables.rows[0]?.n).toBeGreaterThan(0);
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    }
  }, 30_000);
});
