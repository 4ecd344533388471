/**
 * `pnpm demo`: the secure push slice on embedded defaults. Identity events go in; the default rules pick recipients
 * from the directory; the relay writes one outbox row per device into SQLite (.idrelay/demo.db) and dispatches them
 * over the real APNs, FCM and Web Push wire protocols to local stand-ins; receipts and a hash-chained audit come back.
 */
import { rmSync } from 'node:fs';
import { type IdentityEvent, isIdrelayError, verifyAuditChain } from '@idrelay/core';
import { createEvent } from '@idrelay/core/events';
import { createRelay, defaultRules } from '@idrelay/engine';
import { createSqliteStore } from '@idrelay/store-sqlite';
import { demoDirectory } from './people.js';
import { startSandbox } from './sandbox.js';

const IAM = 'https://iam.example.com';
const inOneHour = () => new Date(Date.now() + 3_600_000).toISOString();

/** The events an IAM system, a directory and an operator would send. */
export function demoEvents(): IdentityEvent[] {
  return [
    createEvent(
      'idrelay.access.requested',
      {
        requestId: 'req-7781',
        requester: { id: 'u-alice', displayName: 'Alice Meier' },
        resource: { id: 'db-customers', name: 'Customer DB (read)' },
        justification: 'Quarter-end report',
        approvers: ['u-bob', 'u-carol'],
        expiresAt: inOneHour(),
      },
      { source: IAM, id: 'req-7781', idrelaysubject: { format: 'email', email: 'alice@example.com' } },
    ),
    createEvent(
      'idrelay.auth.verification.requested',
      {
        verificationId: 'ver-311',
        userId: 'u-alice',
        application: { id: 'hr', name: 'HR portal' },
        context: { ipAddress: '203.0.113.7', location: { city: 'Zurich', country: 'CH' } },
        numberMatch: { code: '73' },
        expiresAt: inOneHour(),
      },
      { source: 'https://idp.example.com', id: 'ver-311' },
    ),
    createEvent(
      'idrelay.group.member.added',
      { groupId: 'g-prod-admins', groupName: 'Production admins', userId: 'u-alice', privileged: true },
      { source: 'ldap://dir.example.com', id: 'grp-add-19' },
    ),
    createEvent(
      'idrelay.announcement.published',
      {
        announcementId: 'ann-5',
        title: 'Finance systems maintenance',
        body: 'SAP is read-only tonight from 22:00 to 23:00.',
        audience: { kind: 'attributes', filter: { department: 'Finance' } },
      },
      { source: 'https://console.example.com', id: 'ann-5' },
    ),
  ];
}

/** Runs the demo, printing as it goes; returns what the stand-ins received, for the test. */
export async function main(print: (line: string) => void = console.log, dbPath = '.idrelay/demo.db') {
  // A fresh database each run, so the demo always shows the same story.
  for (const suffix of ['', '-wal', '-shm']) rmSync(`${dbPath}${suffix}`, { force: true });
  const sandbox = await startSandbox();
  const store = await createSqliteStore({ path: dbPath });
  const relay = createRelay({
    store,
    transports: sandbox.transports,
    directory: demoDirectory(),
    rules: defaultRules({ securityGroup: 'g-security', adminGroup: 'g-iam-admins' }),
  });
  const receipts: string[] = [];
  relay.subscribe((event) => {
    if (event.type === 'idrelay.notification.delivered' || event.type === 'idrelay.notification.failed') {
      receipts.push(event.type);
    }
  });
  try {
    await relay.start();
    const browser = sandbox.webpush.subscribe();
    await relay.devices.register({
      userId: 'u-alice',
      deviceId: 'alice-pixel',
      platform: 'fcm',
      token: 'fcm-alice-pixel-0001',
    });
    await relay.devices.register({ userId: 'u-bob', deviceId: 'bob-iphone', platform: 'apns', token: 'a1'.repeat(32) });
    await relay.devices.register({
      userId: 'u-carol',
      deviceId: 'carol-chrome',
      platform: 'webpush',
      subscription: browser,
    });
    await relay.devices.register({ userId: 'u-dave', deviceId: 'dave-ipad', platform: 'apns', token: 'd4'.repeat(32) });
    print('devices: alice-pixel (FCM), bob-iphone (APNs), carol-chrome (Web Push), dave-ipad (APNs)\n');

    for (const event of demoEvents()) {
      const planned = await relay.ingest(event);
      const rules = planned.notifications.map((n) => n.ruleId).join(', ') || 'no rule';
      print(`→ ${event.type}: ${planned.recipients} recipient(s), ${planned.deliveries} delivery(ies) [${rules}]`);
    }
    const again = await relay.ingest(demoEvents()[0]);
    print(`→ the access request again: duplicate=${again.duplicate}, nothing planned twice`);
    try {
      await relay.ingest({ specversion: '1.0', id: 'x', source: IAM, type: 'idrelay.account.locked', data: {} });
    } catch (error) {
      if (!isIdrelayError(error, 'ERR_EVENT_INVALID')) throw error;
      print(`→ a malformed event: ${error.code}, recorded as rejected (${error.details?.issues.length} problems)`);
    }

    await relay.drain();
    const counts = await store.outbox.counts();
    print(`\n${counts.delivered} deliveries sent over the real wire protocols and accepted:`);
    for (const request of sandbox.apns.requests) {
      const aps = (request.payload as { aps?: { alert?: { title?: string; body?: string } } }).aps;
      const level = request.headers['apns-push-type'];
      print(
        `  APNs ${request.status} ${request.token.slice(0, 8)}… ${level}: "${aps?.alert?.title}" — ${aps?.alert?.body}`,
      );
    }
    for (const sent of sandbox.fcm.messages) {
      const notification = sent.message.notification as { title?: string; body?: string } | undefined;
      print(`  FCM  200 ${String(sent.message.token).slice(0, 12)}…: "${notification?.title}" — ${notification?.body}`);
    }
    for (const push of sandbox.webpush.received()) {
      const payload = JSON.parse(push.plaintext.toString('utf8')) as { title?: string; body?: string };
      print(`  Web Push 201 (VAPID ok, decrypted, urgency ${push.urgency}): "${payload.title}" — ${payload.body}`);
    }
    const leaked = [
      ...sandbox.apns.requests.map((r) => JSON.stringify(r.payload)),
      ...sandbox.webpush.received().map((p) => p.plaintext.toString()),
    ]
      .concat(sandbox.fcm.messages.map((m) => JSON.stringify(m.message)))
      .some((text) => text.includes('"73"') || text.includes(' 73'));
    print(`\nnumber-matching code in any payload: ${leaked ? 'YES (bug!)' : 'no'}`);
    print(
      `receipts: ${receipts.filter((r) => r.endsWith('delivered')).length} delivered, ${receipts.filter((r) => r.endsWith('failed')).length} failed`,
    );
    print(`outbox: ${JSON.stringify(counts)}`);
    const audit = await store.audit.list({ limit: 10_000 });
    print(
      `audit: ${audit.length} entries, hash chain ${verifyAuditChain(audit) === undefined ? 'verified' : 'BROKEN'}`,
    );
    return {
      apns: sandbox.apns.requests.length,
      fcm: sandbox.fcm.messages.length,
      webpush: sandbox.webpush.received().length,
      leaked,
      receipts,
    };
  } finally {
    await relay.close();
    await store.close();
    await sandbox.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
