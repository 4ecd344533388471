import type { DeliveryResult, DeviceTarget, PushMessage, PushRequest, Transport } from '@idrelay/core';
import { createRelay, defaultRules } from '@idrelay/engine';
import { createMemoryStore } from '@idrelay/testkit';
import { describe, expect, it } from 'vitest';
import { createOtdsChangePoller, createOtdsDirectory } from '../src/index.js';
import { clientFor, useOtds } from './setup.js';

/** A transport that records what it was asked to send and reports every push delivered. */
function recordingTransport(): Transport & { sent: { deviceId: string; message: PushMessage }[] } {
  const sent: { deviceId: string; message: PushMessage }[] = [];
  const sendEach = async (requests: readonly PushRequest[]): Promise<DeliveryResult[]> =>
    requests.map(({ message, target }) => {
      sent.push({ deviceId: target.deviceId, message });
      return { deviceId: target.deviceId, status: 'delivered' };
    });
  return {
    platform: 'fcm',
    name: 'recording:fcm',
    sent,
    sendEach,
    send: (message: PushMessage, targets: readonly DeviceTarget[]) =>
      sendEach(targets.map((target) => ({ message, target }))),
    close: async () => {},
  };
}

describe('OTDS → relay → push', () => {
  it('a grant of admin rights in OTDS reaches the user, their manager and the security team', async () => {
    const otds = useOtds({
      users: [
        { id: 'alice@Users', attributes: { mail: 'alice@example.com', manager: 'carol@Users', department: 'finance' } },
        { id: 'carol@Users', attributes: { mail: 'carol@example.com' } },
        { id: 'erin@Users', attributes: { mail: 'erin@example.com' } },
        { id: 'frank@Users', attributes: { mail: 'frank@example.com' } },
      ],
      groups: [
        { id: 'SOC@Users', members: ['erin@Users'], groups: ['SOC Oncall@Users'] },
        { id: 'SOC Oncall@Users', members: ['frank@Users'] },
        { id: 'Admins@Users', members: [] },
      ],
    });
    const client = clientFor(otds, { pageSize: 2 });
    const transport = recordingTransport();
    const relay = createRelay({
      store: createMemoryStore(),
      directory: createOtdsDirectory({ client, privilegedGroups: ['Admins@Users'] }),
      transports: [transport],
      rules: defaultRules({ securityGroup: 'SOC@Users', adminGroup: 'Admins@Users' }),
      scheduler: { setTimeout: () => undefined, clearTimeout: () => {} },
    });
    for (const [userId, token] of [
      ['alice@Users', 'a1a1a1a1a1a1a1a1'],
      ['carol@Users', 'c3c3c3c3c3c3c3c3'],
      ['erin@Users', 'e5e5e5e5e5e5e5e5'],
      ['frank@Users', 'f6f6f6f6f6f6f6f6'],
    ] as const) {
      await relay.devices.register({ userId, deviceId: `${userId}-pixel`, platform: 'fcm', token } as never);
    }

    const poller = createOtdsChangePoller({ client, privilegedGroups: ['Admins@Users'], groups: ['Admins@Users'] });
    const baseline = await poller.poll();
    otds.state.addMember('Admins@Users', 'alice@Users');
    const batch = await poller.poll(baseline.checkpoint);
    for (const event of batch.events) await relay.ingest(event);
    await relay.drain();

    const reached = [...new Set(transport.sent.map((push) => push.deviceId))].sort();
    expect(reached).toEqual(['alice@Users-pixel', 'carol@Users-pixel', 'erin@Users-pixel', 'frank@Users-pixel']);
    // The same batch again (a crash before the checkpoint was stored) is deduplicated by event id.
    const before = transport.sent.length;
    for (const event of batch.events) await relay.ingest(event);
    await relay.drain();
    expect(transport.sent.length).toBe(before);
    await relay.close();
  });
});
