import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { isIdrelayError } from '@idrelay/core';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createSqliteStore, SCHEMA_VERSION } from '../src/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'idrelay-ownership-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

/** Starts tests/lock-child.ts in its own Node process (the same Node 22 that runs the tests). */
function child(mode: 'hold' | 'open' | 'default' | 'wait', file: string) {
  const proc = spawn(
    process.execPath,
    ['--conditions=@idrelay/source', '--import', 'tsx', join(here, 'lock-child.ts'), mode, file],
    {
      cwd: join(here, '..'),
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  children.push(proc);
  let stderr = '';
  proc.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const lines = createInterface({ input: proc.stdout! })[Symbol.asyncIterator]();
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  return {
    proc,
    exited,
    stderr: () => stderr,
    async line(): Promise<string> {
      const next = await lines.next();
      if (next.done) throw new Error(`child ended without output; stderr:\n${stderr}`);
      return next.value;
    },
  };
}

describe('the default file', () => {
  it('is .idrelay/relay.db under the working directory, created with its directory', async () => {
    const cwd = mkdtempSync(join(dir, 'cwd-'));
    const opened = child('default', cwd);
    expect(JSON.parse(await opened.line())).toEqual({ name: 'sqlite:.idrelay/relay.db' });
    expect(await opened.exited).toBe(0);
    expect(existsSync(join(cwd, '.idrelay', 'relay.db'))).toBe(true);
  });
});

describe('one process owns a SQLite file', () => {
  it('refuses a second process with ERR_STORE_LOCKED that points to PostgreSQL', async () => {
    const file = join(dir, 'owned-by-test.db');
    const store = await createSqliteStore({ path: file });
    try {
      const second = child('open', file);
      const outcome = JSON.parse(await second.line()) as { opened: boolean; code?: string; message?: string };
      expect(outcome).toMatchObject({ opened: false, code: 'ERR_STORE_LOCKED' });
      expect(outcome.message).toContain('@idrelay/store-postgres');
      expect(await second.exited).toBe(0);
      // The refused process printed no SQLite experimental warning, and other warnings still got through.
      expect(second.stderr()).not.toContain('SQLite is an experimental feature');
      expect(second.stderr()).toContain('an unrelated warning');
      // The owner is unaffected.
      expect(await store.outbox.enqueue([])).toEqual({ inserted: 0 });
      expect(await store.migrate()).toMatchObject({ from: SCHEMA_VERSION });
    } finally {
      await store.close();
    }
  });

  it('refuses this process while another owns the file, and takes over once that one is killed', async () => {
    const file = join(dir, 'owned-by-child.db');
    const owner = child('hold', file);
    expect(await owner.line()).toBe('ready');

    const refused = await createSqliteStore({ path: file }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(isIdrelayError(refused, 'ERR_STORE_LOCKED')).toBe(true);

    // SIGKILL: no close(), no cleanup. The OS drops the lock with the process; what it committed is there.
    owner.proc.kill('SIGKILL');
    await owner.exited;
    const store = await createSqliteStore({ path: file });
    try {
      const [delivery] = await store.outbox.claim({ limit: 10, now: 1, leaseMs: 1_000 });
      expect(delivery?.message.title).toBe('written by the child');
    } finally {
      await store.close();
    }
  });

  it('with lockTimeoutMs, waits for the owner to let go instead of failing', async () => {
    const file = join(dir, 'restart.db');
    const old = await createSqliteStore({ path: file });
    const next = child('wait', file);
    expect(await next.line()).toBe('trying');
    await old.close();
    expect(JSON.parse(await next.line())).toEqual({ opened: true });
  });

  it('lets the next owner in after close()', async () => {
    const file = join(dir, 'handover.db');
    const first = await createSqliteStore({ path: file });
    await expect(createSqliteStore({ path: file })).rejects.toSatisfy((error) =>
      isIdrelayError(error, 'ERR_STORE_LOCKED'),
    );
    await first.close();
    const second = await createSqliteStore({ path: file });
    await second.close();
  });
});
