import { randomBytes } from 'node:crypto';
import { createSimulatedDevice, type PushChannel, type SimulatedDevice } from '@idrelay/testkit/device';
import { type GatewayClient, GatewayRequestError } from '../client.js';
import type { Progress } from '../io.js';
import type { Hooks } from './receiver.js';

/** The people of the seeded directory; `sam` and `dave` are the security team, `carol` an IAM administrator. */
export const PEOPLE = [
  { id: 'alice', displayName: 'Alice Arnold', attributes: { department: 'finance' } },
  { id: 'bob', displayName: 'Bob Brown', attributes: { department: 'sales' } },
  { id: 'carol', displayName: 'Carol Chen', attributes: { department: 'it' } },
  { id: 'sam', displayName: 'Sam Security', attributes: { department: 'security' } },
  { id: 'dave', displayName: 'Dave Duty', attributes: { department: 'security' } },
];

/** Each person's simulated device. */
export type Devices = Record<'alice' | 'bob' | 'carol' | 'sam' | 'dave', SimulatedDevice>;
/** One scenario: plays over HTTP and throws when an expected outcome is not observed. */
export type Scenario = (context: {
  client: GatewayClient;
  devices: Devices;
  say: (line: string) => void;
  hooks: Hooks;
}) => Promise<void>;

/** Enrols one simulated device per person with a code from `POST /v1/enrolment-codes`. */
export async function enrolAll(
  client: GatewayClient,
  channel: PushChannel,
  url: string,
  progress: Progress,
  say: (line: string) => void,
): Promise<Devices> {
  const plan = [
    ['alice', 'alice-iphone', 'apns', 'ES256'],
    ['bob', 'bob-pixel', 'fcm', 'Ed25519'],
    ['carol', 'carol-firefox', 'webpush', 'ES256'],
    ['sam', 'sam-chrome', 'webpush', 'Ed25519'],
    ['dave', 'dave-iphone', 'apns', 'Ed25519'],
  ] as const;
  const devices = {} as Devices;
  for (const [userId, deviceId, platform, algorithm] of plan) {
    progress.step(`Enrolling ${deviceId}`);
    const { code } = (await client.call('POST', '/v1/enrolment-codes', { userId })) as { code: string };
    const device = await createSimulatedDevice({ baseUrl: url, platform, algorithm, deviceId, channel });
    await device.enrol({ code });
    devices[userId] = device;
    progress.done();
    say(`${userId} enrolled ${deviceId} (${platform}, ${algorithm} key made on the device)`);
  }
  return devices;
}

async function writtenBack(hooks: Hooks, type: string, say: (line: string) => void): Promise<void> {
  const received = await hooks.arrived(type);
  say(`  written back: ${type} (${received.webhookId}, signature verified by the receiver)`);
}

function expect(condition: unknown, what: string): asserts condition {
  if (!condition) throw new Error(`expected ${what}`);
}

const cloudEvent = (type: string, data: Record<string, unknown>) => ({
  specversion: '1.0',
  id: `demo-${randomBytes(6).toString('hex')}`,
  source: 'https://iam.example.com/demo',
  type,
  time: new Date().toISOString(),
  datacontenttype: 'application/json',
  data,
});

/** The scenarios, in order. */
export const SCENARIOS: readonly [string, Scenario][] = [
  [
    '1. Login verification approved with number matching',
    async ({ client, devices, say, hooks }) => {
      const started = (await client.call('POST', '/v1/verifications', {
        userId: 'alice',
        application: { id: 'payroll', name: 'Payroll' },
        ip: '203.0.113.7',
        location: { city: 'Zurich', country: 'CH' },
      })) as { verificationId: string; code: string };
      say(`  sign-in screen shows ${started.code}`);
      const push = await devices.alice.waitForPush((p) => p.data.verificationId === started.verificationId);
      const details = await devices.alice.details(push);
      say(`  alice-iphone: push ${push.notificationId}; details: ${JSON.stringify(details.details)}`);
      expect(details.numberMatching, 'the device to be asked for the number');
      const answer = await devices.alice.approve(push, { code: started.code });
      say(`  alice-iphone approves with ${started.code}: ${answer.state}`);
      const state = (await client.call('GET', `/v1/verifications/${started.verificationId}`)) as { status: string };
      expect(state.status === 'approved', `the verification approved, got ${state.status}`);
      await writtenBack(hooks, 'idrelay.auth.verification.approved', say);
    },
  ],
  [
    '2. Risky login denied and reported; the security team is alerted',
    async ({ client, devices, say, hooks }) => {
      const started = (await client.call('POST', '/v1/verifications', {
        userId: 'bob',
        application: { id: 'crm', name: 'CRM' },
        ip: '198.51.100.66',
        location: { city: 'Unknown', country: 'XX' },
      })) as { verificationId: string };
      const push = await devices.bob.waitForPush((p) => p.data.verificationId === started.verificationId);
      await devices.bob.report(push, { comment: 'not me' });
      say('  bob-pixel: "this wasn’t me" (deny and report)');
      const state = (await client.call('GET', `/v1/verifications/${started.verificationId}`)) as {
        status: string;
        reported?: boolean;
      };
      expect(state.status === 'denied' && state.reported === true, 'the verification denied and reported');
      // Push-bombing defence: more sign-in prompts for bob inside the window are refused, not pushed.
      let refused: GatewayRequestError | undefined;
      for (let attempt = 0; attempt < 5 && refused === undefined; attempt++) {
        refused = await client
          .call('POST', '/v1/verifications', { userId: 'bob', application: { id: 'crm', name: 'CRM' } })
          .then(
            () => undefined,
            (error: unknown) => {
              if (error instanceof GatewayRequestError && error.status === 429) return error;
              throw error;
            },
          );
      }
      expect(refused !== undefined, 'a further verification for bob to be refused inside the window');
      say(`  further sign-in prompts for bob: refused with ${refused.code} (push-bombing defence)`);
      const alert = await devices.sam.waitForPush(() => true, { timeoutMs: 10_000 });
      say(`  sam-chrome (security team): ${alert.title ?? alert.data.type ?? 'alert'}`);
      await writtenBack(hooks, 'idrelay.auth.verification.denied', say);
    },
  ],
  [
    '3. Account locked: the user is told',
    async ({ client, devices, say }) => {
      await client.call(
        'POST',
        '/v1/events',
        cloudEvent('idrelay.account.locked', { userId: 'alice', reason: 'failed-logins', failedAttempts: 5 }),
      );
      // Alice's verification push was taken in scenario 1; the next one is the lock notice.
      const push = await devices.alice.waitForPush(() => true, { timeoutMs: 10_000 });
      expect(push.token === undefined, 'an informational push (nothing to answer)');
      say(`  alice-iphone: ${push.title ?? ''} ${push.body ?? ''}`.trimEnd());
    },
  ],
  [
    '4. Required action acknowledged on the device',
    async ({ client, devices, say, hooks }) => {
      await client.call(
        'POST',
        '/v1/events',
        cloudEvent('idrelay.policy.action-required', {
          actionId: 'aup-2027',
          userId: 'carol',
          kind: 'policy-acceptance',
          policy: { id: 'aup', name: 'Acceptable use policy', version: '2027' },
        }),
      );
      const push = await devices.carol.waitForPush((p) => p.token !== undefined, { timeoutMs: 10_000 });
      const answer = await devices.carol.acknowledge(push);
      say(`  carol-firefox acknowledges: ${answer.status}${answer.state ? ` (${answer.state})` : ''}`);
      expect(answer.status === 'applied', 'the acknowledgement applied');
      await writtenBack(hooks, 'idrelay.notification.acknowledged', say);
    },
  ],
  [
    '5. Access request: one approver decides, the other approver’s push is withdrawn',
    async ({ client, devices, say, hooks }) => {
      const requestId = `req-${randomBytes(4).toString('hex')}`;
      await client.call(
        'POST',
        '/v1/events',
        cloudEvent('idrelay.access.requested', {
          requestId,
          requester: { id: 'bob' },
          resource: { id: 'erp-admin', name: 'ERP administration' },
          approvers: ['alice', 'carol'],
          justification: 'quarter close',
        }),
      );
      const forRequest = (p: { data: Readonly<Record<string, string>>; token: string | undefined }) =>
        p.data.requestId === requestId && p.token !== undefined;
      const alicePush = await devices.alice.waitForPush(forRequest, { timeoutMs: 10_000 });
      const carolPush = await devices.carol.waitForPush(forRequest, { timeoutMs: 10_000 });
      say(`  alice-iphone and carol-firefox asked to approve ${requestId} (bob → ERP administration)`);
      const approved = await devices.alice.approve(alicePush);
      say(`  alice-iphone approves: ${approved.state}`);
      expect(approved.state === 'approved', `the request approved, got ${approved.state}`);
      const late: string | undefined = await devices.carol.approve(carolPush).then(
        () => undefined,
        (error: { code?: string }) => error.code,
      );
      const withdrawal = await devices.carol.waitForPush((p) => p.token === undefined, { timeoutMs: 10_000 });
      say(`  carol-firefox: ${withdrawal.title ?? ''} ${withdrawal.body ?? ''}`.trimEnd());
      say(`  carol-firefox answers anyway: ${late}`);
      expect(late === 'ERR_ACTION_TOKEN_REVOKED', `carol's token revoked, got ${late}`);
      await writtenBack(hooks, 'idrelay.access.approved', say);
    },
  ],
  [
    '6. Privileged role assigned: the security team is alerted',
    async ({ client, devices, say }) => {
      await client.call(
        'POST',
        '/v1/events',
        cloudEvent('idrelay.privilege.assigned', {
          userId: 'bob',
          privilege: { id: 'erp-admin', name: 'ERP administrator', kind: 'role' },
          assignedBy: { id: 'carol' },
        }),
      );
      const alert = await devices.dave.waitForPush((p) => p.data.type === 'idrelay.privilege.assigned', {
        timeoutMs: 10_000,
      });
      const level = (alert.raw as { aps?: { 'interruption-level'?: string } }).aps?.['interruption-level'];
      say(`  dave-iphone (security team, ${level ?? 'no interruption level'}): ${alert.title ?? ''}`.trimEnd());
      expect(level === 'time-sensitive' || level === 'critical', `a time-sensitive APNs alert, got ${level}`);
      const also = await devices.sam.waitForPush((p) => p.data.type === 'idrelay.privilege.assigned', {
        timeoutMs: 10_000,
      });
      say(`  sam-chrome (security team): ${also.title ?? ''}`.trimEnd());
    },
  ],
  [
    '7. Quiet hours: an announcement waits for the morning, a security alert goes at once',
    async ({ client, devices, say }) => {
      // Bob's quiet hours cover now (in UTC, from an hour ago for nine hours), set as a device would set them.
      const hhmm = (ms: number) => new Date(ms).toISOString().slice(11, 16);
      const now = Date.now();
      await client.call(
        'POST',
        '/v1/events',
        cloudEvent('idrelay.preference.changed', {
          userId: 'bob',
          changes: [],
          quietHours: { start: hhmm(now - 3_600_000), end: hhmm(now + 8 * 3_600_000), timeZone: 'UTC' },
          origin: 'device',
        }),
      );
      // Scenario 2's risk alert is already on bob's phone: set it aside, so the one awaited below is new.
      const isRisk = (p: { data: Readonly<Record<string, string>> }) => p.data.type === 'idrelay.auth.risk.detected';
      const earlier = (await devices.bob.inbox()).filter(isRisk).length;
      for (let i = 0; i < earlier; i++) await devices.bob.waitForPush(isRisk, { timeoutMs: 1_000 });
      say(`  bob sets quiet hours ${hhmm(now - 3_600_000)}–${hhmm(now + 8 * 3_600_000)} UTC`);
      const announcement = cloudEvent('idrelay.announcement.published', {
        announcementId: 'sales-kickoff',
        title: 'Sales kick-off moved',
        body: 'The kick-off starts at 10:00 in room 4.',
        audience: { kind: 'attributes', filter: { department: 'sales' } },
      });
      await client.call('POST', '/v1/events', announcement);
      const listed = (await client.call(
        'GET',
        `/v1/deliveries?source=${encodeURIComponent(announcement.source)}&id=${announcement.id}`,
      )) as { deliveries: { deviceId: string; status: string; dueAt: number }[] };
      const held = listed.deliveries.find((d) => d.deviceId === 'bob-pixel');
      expect(held !== undefined && held.dueAt > Date.now() + 60_000, 'the announcement held until quiet hours end');
      say(
        `  announcement for bob-pixel: ${held.status}, due ${new Date(held.dueAt).toISOString()} (end of quiet hours)`,
      );
      await client.call(
        'POST',
        '/v1/events',
        cloudEvent('idrelay.auth.risk.detected', {
          userId: 'bob',
          level: 'high',
          reasons: ['impossible-travel'],
          detectedAt: new Date().toISOString(),
        }),
      );
      const alert = await devices.bob.waitForPush(isRisk, { timeoutMs: 10_000 });
      say(`  bob-pixel gets the security alert at once: ${alert.title ?? ''}`.trimEnd());
      const inbox = await devices.bob.inbox();
      expect(
        !inbox.some((p) => p.data.type === 'idrelay.announcement.published'),
        'no announcement during quiet hours',
      );
    },
  ],
];
