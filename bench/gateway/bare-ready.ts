/**
 * The `start-ready` floor: a bare `@hono/node-server` process that opens a SQLite file (WAL) with one table and
 * answers `/readyz` once listening. argv: port. Run the same way as `idrelay start` (Node with tsx).
 */
import { DatabaseSync } from 'node:sqlite';
import { Hono, serve } from './hono.js';

const db = new DatabaseSync('floor.db');
db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;');
db.exec('CREATE TABLE IF NOT EXISTS events (source TEXT, id TEXT, body TEXT, PRIMARY KEY (source, id))');
const probe = db.prepare('SELECT 1 FROM events WHERE source = ? AND id = ?');
const app = new Hono();
app.get('/readyz', (c) => {
  probe.get('readyz', 'probe');
  return c.json({ status: 'ready' });
});
serve({ fetch: app.fetch, port: Number(process.argv[2]), hostname: '127.0.0.1' });
process.on('SIGTERM', () => process.exit(0));
