import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startApnsStandIn } from '@idrelay/testkit';
import { expect, it } from 'vitest';
import { deviceToken, KEY_ID, makeKeyPair, TEAM_ID, TOPIC } from './fixtures.js';

const script = fileURLToPath(new URL('./fixtures/send-then-close.ts', import.meta.url));
const root = fileURLToPath(new URL('../../../', import.meta.url));

it('a script that sends and then closes exits 0 by itself, without an unsettled top-level await', async () => {
  const { privateKey, publicKey } = makeKeyPair();
  const standIn = await startApnsStandIn({ publicKey, teamId: TEAM_ID, keyId: KEY_ID, topics: [TOPIC] });
  try {
    const token = deviceToken();
    const child = spawn(process.execPath, ['--conditions=@idrelay/source', '--import', 'tsx', script], {
      cwd: root,
      env: {
        ...process.env,
        APNS_KEY: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
        APNS_TEAM_ID: TEAM_ID,
        APNS_KEY_ID: KEY_ID,
        APNS_TOPIC: TOPIC,
        APNS_ORIGIN: standIn.origin,
        APNS_CA: standIn.ca,
        APNS_DEVICE_TOKEN: token,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));

    expect(stderr).not.toContain('unsettled top-level await');
    expect(code, stderr).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ deviceId: 'iphone-1', status: 'delivered' });
    expect(standIn.requestsFor(token)).toHaveLength(1);
  } finally {
    await standIn.close();
  }
});
