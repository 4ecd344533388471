/**
 * A second process for the ownership tests (run with tsx). `hold <file>` opens the store, registers a device and enqueues one delivery to it,
 * prints `ready` and keeps the file until stdin closes or it is killed. `open <file>` tries to open the store,
 * prints the outcome as JSON, then raises an unrelated warning to show that warnings still reach stderr.
 * `default <dir>` moves into `dir` (after tsx is loaded) and opens the store with no options. `wait <file>` prints
 * `trying`, then opens with a lock timeout and prints the outcome.
 */
import { createSqliteStore } from '../src/index.js';

const [mode, file] = process.argv.slice(2);
if (file === undefined) throw new Error('usage: lock-child.ts hold|open|default|wait <file|dir>');

if (mode === 'hold') {
  const store = await createSqliteStore({ path: file });
  await store.devices.upsert({ deviceId: 'd', userId: 'u', platform: 'fcm', token: 't', createdAt: 0, updatedAt: 0 });
  await store.outbox.enqueue([
    {
      eventKey: 'child#1',
      notificationId: 'n-child',
      ruleId: 'r',
      userId: 'u',
      deviceId: 'd',
      platform: 'fcm',
      dueAt: 0,
      message: { id: 'n-child', urgency: 'normal', title: 'written by the child' },
    },
  ]);
  process.stdout.write('ready\n');
  process.stdin.resume();
  process.stdin.on('end', () => void store.close().then(() => process.exit(0)));
} else if (mode === 'wait') {
  process.stdout.write('trying\n');
  const store = await createSqliteStore({ path: file, lockTimeoutMs: 20_000 });
  await store.close();
  process.stdout.write(`${JSON.stringify({ opened: true })}\n`);
} else if (mode === 'default') {
  process.chdir(file);
  const store = await createSqliteStore();
  await store.close();
  process.stdout.write(`${JSON.stringify({ name: store.name })}\n`);
} else {
  try {
    const store = await createSqliteStore({ path: file });
    await store.close();
    process.stdout.write(`${JSON.stringify({ opened: true })}\n`);
  } catch (error) {
    const { code, message } = error as { code?: string; message: string };
    process.stdout.write(`${JSON.stringify({ opened: false, code, message })}\n`);
  }
  process.emitWarning('an unrelated warning', 'DeprecationWarning');
}
