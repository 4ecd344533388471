/**
 * The device simulator against an in-process relay: real transports delivering to the sandbox stand-ins, the
 * engine's own handlers mounted on a tiny Hono router (the gateway's routes, without the gateway), and devices on
 * every platform with P-256 and Ed25519 keys that enrol, receive, read details and answer as docs/protocol.md says.
 */
import { createRelay, defaultRules, problemResponse, type Relay, requiredActionFlow } from '@idrelay/engine';
import { createMemoryDirectory, createMemoryStore } from '@idrelay/testkit';
import {
  createPushChannelHandler,
  createSimulatedDevice,
  DeviceRequestError,
  PushTimeoutError,
  remotePushChannel,
  type SimulatedDevice,
} from '@idrelay/testkit/device';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SandboxTransports, startSandboxTransports } from '../src/sandbox/sandbox-transports.js';

const BASE = 'http://relay.test';
const USERS = Array.from({ length: 14 }, (_, i) => `user-${i + 1}`);

let sandbox: SandboxTransports;
let relay: Relay;
let app: Hono;
let nextUser = 0;

beforeAll(async () => {
  sandbox = await startSandboxTransports();
  relay = createRelay({
    store: createMemoryStore(),
    directory: createMemoryDirectory({
      users: [...USERS.map((id) => ({ id })), { id: 'sec' }],
      groups: [
        { id: 'soc', members: ['sec'] },
        { id: 'admins', members: [] },
      ],
    }),
    transports: sandbox.transports,
    rules: defaultRules({ securityGroup: 'soc', adminGroup: 'admins' }),
    flows: { definitions: [requiredActionFlow()] },
    verifyBearer: async (token) => (token.startsWith('bearer:') ? { userId: token.slice(7) } : undefined),
    actions: {
      detailsUrl: `${BASE}/v1/notifications/{notificationId}/details`,
      respondUrl: `${BASE}/v1/actions`,
    },
  });
  await relay.start();
  app = new Hono();
  app.post('/v1/devices/enrol', async (c) => {
    try {
      const bearer = /^Bearer (\S+)$/.exec(c.req.header('authorization') ?? '')?.[1];
      const body = await c.req.json();
      const { device, replaced } = await relay.devices.enrol(bearer === undefined ? body : { ...body, bearer });
      return c.json({ device: { deviceId: device.deviceId, userId: device.userId }, replaced }, 201);
    } catch (error) {
      return problemResponse(error);
    }
  });
  app.get('/v1/notifications/:id/details', (c) =>
    relay.actionHandlers.details(c.req.raw, { notificationId: c.req.param('id') }),
  );
  app.post('/v1/actions', (c) => relay.actionHandlers.respond(c.req.raw));
}, 30_000);

afterAll(async () => {
  await relay?.close();
  await sandbox?.close();
});

async function enrolledDevice(
  platform: 'apns' | 'fcm' | 'webpush',
  algorithm: 'ES256' | 'Ed25519',
): Promise<{ device: SimulatedDevice; userId: string }> {
  const userId = USERS[nextUser++] as string;
  const device = await createSimulatedDevice({
    baseUrl: BASE,
    fetch: (request) => app.fetch(request),
    platform,
    algorithm,
    deviceId: `${userId}-${platform}`,
    channel: sandbox.channel,
  });
  const { code } = await relay.devices.issueEnrolmentCode(userId);
  await expect(device.enrol({ code })).resolves.toMatchObject({ device: { userId }, replaced: false });
  return { device, userId };
}

const application = { id: 'payroll', name: 'Payroll' };

describe('simulated device', () => {
  it.each([
    ['apns', 'ES256'],
    ['fcm', 'Ed25519'],
    ['webpush', 'ES256'],
    ['webpush', 'Ed25519'],
  ] as const)(
    '%s with %s: enrols, receives the verification push, reads the number-matching prompt, approves',
    async (platform, algorithm) => {
      const { device, userId } = await enrolledDevice(platform, algorithm);
      const started = await relay.verifications.start({ userId, application, ip: '203.0.113.7' });

      const push = await device.waitForPush((p) => p.data.verificationId === started.verificationId);
      expect(push.platform).toBe(platform);
      expect(push.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      // docs/protocol.md §3: the code, the IP and the application are not in the push.
      expect(JSON.stringify(push.raw)).not.toContain(started.code);
      expect(JSON.stringify(push.raw)).not.toContain('203.0.113.7');

      const details = await device.details(push);
      expect(details).toMatchObject({
        notificationId: push.notificationId,
        kind: 'login-verification',
        numberMatching: true,
        details: { application, ipAddress: '203.0.113.7' },
      });
      expect(details.actions).toEqual(expect.arrayContaining(['approve', 'deny', 'report']));

      await expect(device.approve(push, { code: started.code })).resolves.toMatchObject({
        status: 'applied',
        decision: 'approve',
        state: 'approved',
      });
      await expect(relay.verifications.get(started.verificationId)).resolves.toMatchObject({ status: 'approved' });
    },
  );

  it('surfaces refusals as DeviceRequestError with the problem code and status', async () => {
    const { device, userId } = await enrolledDevice('apns', 'Ed25519');
    const started = await relay.verifications.start({ userId, application, ip: '198.51.100.1' });
    const push = await device.waitForPush();
    const wrong = started.code === '000000' ? '000001' : '000000';

    const mismatch = await device.approve(push, { code: wrong }).catch((error: unknown) => error);
    expect(mismatch).toBeInstanceOf(DeviceRequestError);
    expect(mismatch).toMatchObject({ code: 'ERR_ACTION_CODE_MISMATCH', status: 422, attemptsLeft: 2 });

    await device.approve(push, { code: started.code });
    await expect(device.approve(push, { code: started.code })).rejects.toMatchObject({
      code: 'ERR_ACTION_TOKEN_USED',
      status: 409,
    });
  });

  it('denies and reports ("this wasn’t me"): the verification ends denied and marked reported', async () => {
    const { device, userId } = await enrolledDevice('fcm', 'ES256');
    const started = await relay.verifications.start({ userId, application, ip: '198.51.100.2' });
    const push = await device.waitForPush();
    await expect(device.report(push, { comment: 'not me' })).resolves.toMatchObject({ decision: 'report' });
    await expect(relay.verifications.get(started.verificationId)).resolves.toMatchObject({
      status: 'denied',
      reported: true,
    });
  });

  it('acknowledges a required action', async () => {
    const { device, userId } = await enrolledDevice('webpush', 'ES256');
    await relay.flows.start('required-action', 'policy-7', { actionId: 'policy-7', userId });
    const push = await device.waitForPush((p) => p.token !== undefined);
    expect((await device.details(push)).actions).toEqual(['acknowledge']);
    await expect(device.acknowledge(push)).resolves.toMatchObject({ status: 'applied', decision: 'acknowledge' });
  });

  it('cannot enrol with a used code, and the error names it', async () => {
    const { userId } = await enrolledDevice('apns', 'ES256');
    const { code } = await relay.devices.issueEnrolmentCode(userId);
    const first = await createSimulatedDevice({
      baseUrl: BASE,
      fetch: (r) => app.fetch(r),
      platform: 'apns',
      deviceId: `${userId}-second`,
      channel: sandbox.channel,
    });
    await first.enrol({ code });
    await expect(first.enrol({ code })).rejects.toMatchObject({ code: 'ERR_ENROL_CODE_INVALID', status: 401 });
  });

  it('enrols with a bearer token sent as Authorization, and a refused token surfaces its code', async () => {
    const make = (deviceId: string) =>
      createSimulatedDevice({
        baseUrl: BASE,
        fetch: (r) => app.fetch(r),
        platform: 'fcm',
        deviceId,
        channel: sandbox.channel,
      });
    const userId = USERS[nextUser++] as string;
    await expect((await make(`${userId}-bearer`)).enrol({ bearer: `bearer:${userId}` })).resolves.toMatchObject({
      device: { userId },
    });
    await expect((await make('nobody-bearer')).enrol({ bearer: 'forged' })).rejects.toMatchObject({
      code: 'ERR_ENROL_BEARER_INVALID',
      status: 401,
    });
  });

  it('comes back from its saved state and reads pushes through a remote channel', async () => {
    const { device, userId } = await enrolledDevice('webpush', 'Ed25519');
    const remote = remotePushChannel({ baseUrl: BASE, fetch: createPushChannelHandler(sandbox.channel) });
    const again = await createSimulatedDevice({
      baseUrl: BASE,
      fetch: (r) => app.fetch(r),
      platform: 'webpush',
      deviceId: 'ignored',
      channel: remote,
      state: JSON.parse(JSON.stringify(device.state())),
    });
    expect(again.deviceId).toBe(device.deviceId);
    const started = await relay.verifications.start({ userId, application, ip: '198.51.100.3' });
    const push = await again.waitForPush();
    await expect(again.approve(push, { code: started.code })).resolves.toMatchObject({ state: 'approved' });
  });

  it('gives up waiting with PushTimeoutError', async () => {
    const { device } = await enrolledDevice('fcm', 'Ed25519');
    await expect(device.waitForPush(undefined, { timeoutMs: 50 })).rejects.toBeInstanceOf(PushTimeoutError);
  });
});
