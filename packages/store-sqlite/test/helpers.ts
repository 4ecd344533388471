import type { Store } from '@idrelay/core';
import { createContext, loadSqlite } from '../src/driver.js';
import { createSqliteStore } from '../src/index.js';
import { migrate, SCHEMA_VERSION } from '../src/migrations/migrate.js';

/**
 * Writes `file` as the previous release left it: the migrations up to version N-1 (released migrations never
 * change, so they are that release's schema) and one event inserted with that schema's SQL.
 */
export function writePreviousVersion(file: string): { eventKey: string } {
  const { DatabaseSync } = loadSqlite();
  const db = new DatabaseSync(file);
  const context = createContext(db, () => 0, file);
  try {
    migrate(context, file, SCHEMA_VERSION - 1);
    const eventKey = 'https://iam.example.com/old#e-1';
    db.prepare(
      `INSERT INTO events (key, source, id, type, status, received_at, body) VALUES (?, ?, ?, ?, 'received', ?, ?)`,
    ).run(
      eventKey,
      'https://iam.example.com/old',
      'e-1',
      'idrelay.account.locked',
      1,
      JSON.stringify({
        specversion: '1.0',
        id: 'e-1',
        source: 'https://iam.example.com/old',
        type: 'idrelay.account.locked',
        time: '2026-01-01T00:00:00.000Z',
        datacontenttype: 'application/json',
        data: { userId: 'u-1', reason: 'risk' },
      }),
    );
    return { eventKey };
  } finally {
    context.close();
  }
}

/** A database at version N-1, opened by the library without migrating. */
export async function openAtPreviousVersion(file: string): Promise<{ store: Store; eventKey: string }> {
  const { eventKey } = writePreviousVersion(file);
  return { store: await createSqliteStore({ path: file, migrate: false }), eventKey };
}

/** Marks `file` as written by a future release, then opens it with this one (which must refuse). */
export async function openNewer(file: string): Promise<Store> {
  const { DatabaseSync } = loadSqlite();
  const db = new DatabaseSync(file);
  db.exec(`PRAGMA user_version = ${SCHEMA_VERSION + 1}`);
  db.close();
  return createSqliteStore({ path: file });
}
