import { isIdrelayError } from '@idrelay/core';
import { afterEach, describe, expect, it } from 'vitest';
import { createContext, loadSqlite, type SqliteContext } from '../driver.js';
import { MIGRATIONS, migrate, SCHEMA_VERSION, schemaVersion } from './migrate.js';

const open: SqliteContext[] = [];
afterEach(() => {
  for (const context of open.splice(0)) context.close();
});

function emptyDatabase(): SqliteContext {
  const { DatabaseSync } = loadSqlite();
  const context = createContext(new DatabaseSync(':memory:'), () => 1_767_225_600_000, 'test');
  open.push(context);
  return context;
}

const tables = (context: SqliteContext) =>
  (
    context.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]
  ).map((row) => row.name);

describe('schema migrations', () => {
  it('numbers its steps 1..N without gaps, so step N+1 always applies on top of N', () => {
    expect(MIGRATIONS.map((m) => m.version)).toEqual(Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1));
  });

  it('applies every step to an empty database and records each one', () => {
    const context = emptyDatabase();
    expect(migrate(context, 'test')).toEqual({ from: 0, to: SCHEMA_VERSION });
    expect(schemaVersion(context)).toBe(SCHEMA_VERSION);
    const applied = context.db
      .prepare('SELECT version, name, applied_at FROM schema_migrations ORDER BY version')
      .all();
    expect(applied).toEqual(
      MIGRATIONS.map((m) => ({ version: m.version, name: m.name, applied_at: 1_767_225_600_000 })),
    );
    expect(tables(context)).toEqual(
      expect.arrayContaining([
        'events',
        'devices',
        'deliveries',
        'action_tokens',
        'flows',
        'timers',
        'audit',
        'digests',
        'users',
        'user_subjects',
        'user_attributes',
        'directory_groups',
        'group_members',
        'group_nesting',
        'resource_approvers',
      ]),
    );
  });

  it('stops at a target version and continues from there later', () => {
    const context = emptyDatabase();
    expect(migrate(context, 'test', 1)).toEqual({ from: 0, to: 1 });
    expect(tables(context)).not.toContain('digests');
    expect(migrate(context, 'test')).toEqual({ from: 1, to: SCHEMA_VERSION });
    expect(tables(context)).toContain('digests');
  });

  it('leaves a whole version behind when a step fails', () => {
    const context = emptyDatabase();
    migrate(context, 'test', 1);
    // Something (a hand edit, a half-restored backup) already holds a name step 2 creates.
    context.db.exec('CREATE TABLE digest_items (junk TEXT)');
    let failure: unknown;
    try {
      migrate(context, 'test');
    } catch (error) {
      failure = error;
    }
    expect(isIdrelayError(failure, 'ERR_STORE_MIGRATION')).toBe(true);
    expect((failure as { details?: unknown }).details).toEqual({ version: 2 });
    expect(schemaVersion(context)).toBe(1);
    expect(tables(context)).not.toContain('digests');
    expect(context.db.prepare('SELECT max(version) AS v FROM schema_migrations').get()).toEqual({ v: 1 });
  });

  it('refuses a database from a newer release and leaves it untouched', () => {
    const context = emptyDatabase();
    context.db.exec(`PRAGMA user_version = ${SCHEMA_VERSION + 1}`);
    expect(() => migrate(context, 'test')).toThrow(
      expect.objectContaining({
        code: 'ERR_STORE_MIGRATION',
        details: { found: SCHEMA_VERSION + 1, supported: SCHEMA_VERSION },
      }),
    );
    expect(tables(context)).toEqual([]);
  });
});
