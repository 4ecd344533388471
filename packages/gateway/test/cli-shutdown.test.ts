/**
 * The shutdown of `idrelay start` (assembleGateway().close()): a delivery held in flight past the deadline does
 * not hold the process, and it stays in the outbox (not lost, not marked delivered) for the next start.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@idrelay/core';
import { createStoreDirectory } from '@idrelay/engine';
import { createSqliteStore } from '@idrelay/store-sqlite';
import { createSimulatedDevice } from '@idrelay/testkit/device';
import { expect, it } from 'vitest';
import { assembleGateway } from '../src/cli/assemble.js';
import { resolveConfig } from '../src/config/load-config.js';

const quiet = { step() {}, done() {}, fail() {}, note() {} };

it('gives up on a delivery still in flight at the deadline and leaves it in the outbox', async () => {
  const cwd = await mkdtemp(join(tmpdir(), 'idrelay-shutdown-'));
  const config = resolveConfig({ shutdownTimeoutMs: 300, port: 8787 }, { cwd, env: {} });
  const store = await createSqliteStore({ path: config.store.kind === 'sqlite' ? config.store.path : '' });
  await createStoreDirectory(store).putUser({ id: 'alice' });
  const assembled = await assembleGateway(config, { logger: silentLogger, progress: quiet, store });
  const sandbox = assembled.transports.sandbox;
  if (sandbox?.standIns.apns === undefined) throw new Error('the APNs sandbox did not start');
  await assembled.relay.start();

  const device = await createSimulatedDevice({
    baseUrl: config.publicUrl,
    fetch: assembled.gateway.fetch,
    platform: 'apns',
    deviceId: 'alice-iphone',
    channel: sandbox.channel,
  });
  await device.enrol(await assembled.relay.devices.issueEnrolmentCode('alice'));
  const token = device.address.platform === 'apns' ? device.address.token : '';
  let open: () => void = () => {};
  sandbox.standIns.apns.script(token, { until: new Promise<void>((resolve) => (open = resolve)) });
  const apns = sandbox.standIns.apns;
  await assembled.relay.verifications.start({ userId: 'alice', application: { id: 'vpn', name: 'VPN' } });
  // The stand-in records the request as it arrives, before the gate: the delivery is on the wire.
  const deadline = Date.now() + 10_000;
  while (apns.requestsFor(token).length === 0) {
    if (Date.now() > deadline) throw new Error('the push never reached the APNs stand-in');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }

  const started = Date.now();
  const { timedOut } = await assembled.close();
  expect(timedOut).toBe(true);
  expect(Date.now() - started).toBeLessThan(5_000);
  open();

  const reopened = await createSqliteStore({ path: join(cwd, '.idrelay', 'relay.db') });
  try {
    const counts = await reopened.outbox.counts();
    expect(counts.delivered).toBe(0);
    expect(counts.dead + counts.failed).toBe(0);
    expect(counts.pending + counts.claimed).toBe(1);
  } finally {
    await reopened.close();
  }
}, 30_000);
