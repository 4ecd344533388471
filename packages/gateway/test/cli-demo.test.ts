/** `idrelay demo`: every scenario played over HTTP on the sandbox, exit 0 only when each outcome was observed. */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { runCli } from '../src/cli/run.js';

it('plays the seven scenarios, checks the audit trail and exits 0', async () => {
  let out = '';
  let err = '';
  const code = await runCli(['demo'], {
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
    env: {},
    cwd: await mkdtemp(join(tmpdir(), 'idrelay-demo-')),
    stopSignal: new Promise(() => {}),
  });
  expect({ code, err: code === 0 ? '' : err }).toEqual({ code: 0, err: '' });
  expect(out).toMatch(/alice-iphone approves with \d{6}: approved/);
  expect(out).toContain('sam-chrome (security team)');
  expect(out).toMatch(/further sign-in prompts for bob: refused with ERR_(HTTP|VERIFICATION)_RATE_LIMITED/);
  expect(out).toMatch(/carol-firefox acknowledges: applied/);
  expect(out).toContain('carol-firefox: Access request decided');
  expect(out).toContain('carol-firefox answers anyway: ERR_ACTION_TOKEN_REVOKED');
  expect(out).toContain('dave-iphone (security team, time-sensitive): Privilege assigned');
  for (const type of [
    'idrelay.auth.verification.approved',
    'idrelay.auth.verification.denied',
    'idrelay.notification.acknowledged',
    'idrelay.access.approved',
  ]) {
    expect(out).toMatch(new RegExp(`written back: ${type.replaceAll('.', '\\.')} \\(msg_`));
  }
  expect(out).toMatch(/announcement for bob-pixel: pending, due .* \(end of quiet hours\)/);
  expect(out).toContain('bob-pixel gets the security alert at once: Security alert');
  expect(out).toMatch(/audit: \d+ entries \(4 response\.accepted, .*\), hash chain verified/);
  expect(out).toContain('Every scenario played as expected.');
  expect(err).not.toMatch(/✗/);
}, 60_000);
