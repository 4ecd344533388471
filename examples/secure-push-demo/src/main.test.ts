import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { main } from './main.js';

const dir = mkdtempSync(join(tmpdir(), 'idrelay-demo-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('runs the secure push slice end to end over the real wire protocols', async () => {
  const lines: string[] = [];
  const result = await main((line) => lines.push(line), join(dir, 'demo.db'));
  // Bob's iPhone: access request, his report's group change, the finance announcement.
  expect(result.apns).toBe(3);
  // Alice's Pixel: the sign-in check, her group change, the announcement.
  expect(result.fcm).toBe(3);
  // Carol's browser (security): the access request and the privileged group change, decrypted by the service.
  expect(result.webpush).toBe(2);
  expect(result.receipts.filter((r) => r === 'idrelay.notification.delivered')).toHaveLength(8);
  expect(result.leaked).toBe(false);
  expect(lines).toContain('→ the access request again: duplicate=true, nothing planned twice');
  expect(lines.some((l) => l.includes('ERR_EVENT_INVALID'))).toBe(true);
  expect(lines.at(-1)).toMatch(/hash chain verified$/);
}, 60_000);
