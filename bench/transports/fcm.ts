import type { DeviceTarget, PushMessage, PushRequest } from '@idrelay/core';
import { redirectFirebaseToStandIn, type TestServiceAccount } from '@idrelay/testkit';
import { createFcmTransport } from '@idrelay/transport-fcm';
import type { Message } from 'firebase-admin/messaging';
import { forkBenchChild } from '../lib/child.js';
import { type Measurement, measure, percentile } from '../lib/measure.js';
import { type Report, round } from '../lib/report.js';

const PEER = 'firebase-admin@14.5.1';
const TOTAL = 10_000;
const WARMUP = 1_000;
const CASES = [
  { label: '1', batch: 1, batches: 1 },
  { label: '32', batch: 32, batches: 1 },
  { label: '128', batch: 128, batches: 1 },
  { label: '256', batch: 256, batches: 1 },
  { label: '4×500', batch: 500, batches: 4 },
] as const;
type CaseShape = (typeof CASES)[number];

interface Client {
  name: string;
  /** Sends one unit of work (`shape.batch × shape.batches` messages); resolves with how many were delivered. */
  send(tokens: readonly string[], shape: CaseShape): Promise<number>;
  close(): Promise<void>;
}
interface Case extends Measurement {
  client: string;
  shape: CaseShape;
  failures: number;
  standInCpuUs: number;
}
interface StandInHandle {
  port: number;
  ca: string;
  projectId: string;
  serviceAccount: TestServiceAccount;
  stats(): Promise<{ cpuUs: number; accepted: number }>;
  reset(): Promise<void>;
  close(): Promise<void>;
}

async function startStandInProcess(): Promise<StandInHandle> {
  const child = forkBenchChild(new URL('./fcm-stand-in-process.ts', import.meta.url));
  const ready = await child.next('ready');
  return {
    port: ready.port as number,
    ca: ready.ca as string,
    projectId: ready.projectId as string,
    serviceAccount: ready.serviceAccount as TestServiceAccount,
    async stats() {
      const reply = await child.ask('stats');
      return { cpuUs: reply.cpuUs as number, accepted: reply.accepted as number };
    },
    async reset() {
      await child.ask('reset');
    },
    close: () => child.stop('close'),
  };
}

const MESSAGE: PushMessage = {
  id: 'bench',
  title: 'Approve access to payroll?',
  body: 'Alice requests finance-admins.',
  urgency: 'high',
  collapseId: 'req-42',
  ttlSeconds: 300,
  data: { requestId: 'req-42' },
};

/** What our builder sends for MESSAGE, written out as a firebase-admin user would. */
const PEER_MESSAGE: Omit<Message, 'token'> = {
  notification: { title: 'Approve access to payroll?', body: 'Alice requests finance-admins.' },
  android: { priority: 'high', collapseKey: 'req-42', ttl: 300_000 },
  apns: {
    headers: { 'apns-priority': '10', 'apns-collapse-id': 'req-42', 'apns-expiration': '0' },
    payload: { aps: {} },
  },
  webpush: { headers: { Urgency: 'high', TTL: '300' } },
  data: { requestId: 'req-42' },
};

function ours(standIn: StandInHandle, httpAgent: import('node:https').Agent): Client {
  const transport = createFcmTransport({
    projectId: standIn.projectId,
    serviceAccount: standIn.serviceAccount,
    httpAgent,
    batchesInFlight: 4,
  });
  return {
    name: '@idrelay/transport-fcm',
    async send(tokens) {
      const targets: DeviceTarget[] = tokens.map((token) => ({ deviceId: token, platform: 'fcm', token }));
      const results = await transport.send(MESSAGE, targets);
      return results.filter((r) => r.status === 'delivered').length;
    },
    close: () => transport.close(),
  };
}

async function raw(standIn: StandInHandle, httpAgent: import('node:https').Agent): Promise<Client> {
  const { initializeApp, cert, deleteApp } = await import('firebase-admin/app');
  const { getMessaging } = await import('firebase-admin/messaging');
  const app = initializeApp(
    { credential: cert(standIn.serviceAccount as never, httpAgent), projectId: standIn.projectId, httpAgent },
    'bench-raw',
  );
  const messaging = getMessaging(app);
  const expiration = String(Math.floor(Date.now() / 1000) + 300);
  const base = {
    ...PEER_MESSAGE,
    apns: { ...PEER_MESSAGE.apns, headers: { ...PEER_MESSAGE.apns!.headers, 'apns-expiration': expiration } },
  };
  return {
    name: PEER,
    async send(tokens, shape) {
      const batches: Promise<number>[] = [];
      for (let i = 0; i < tokens.length; i += shape.batch) {
        const messages = tokens.slice(i, i + shape.batch).map((token) => ({ ...base, token }));
        batches.push(messaging.sendEach(messages).then((r) => r.successCount));
      }
      return (await Promise.all(batches)).reduce((a, b) => a + b, 0);
    },
    close: () => deleteApp(app),
  };
}

/**
 * Runs one case for both clients, interleaved unit by unit (the order flips every unit), with wall time and
 * process.cpuUsage() taken around each unit: with one unit in flight, the CPU between the two readings is that
 * unit's. Other processes' load on the shared machine then falls on both clients alike, which whole-case runs one
 * after the other did not achieve (their ratios swung from 0.9 to 1.3 between runs).
 */
async function runCase(clients: readonly Client[], shape: CaseShape, standIn: StandInHandle): Promise<Case[]> {
  const unit = shape.batch * shape.batches;
  const tokens = (i: number, k: number) => Array.from({ length: unit }, (_, j) => `bench-${k}-${i}-${j}`);
  const round = async (units: number, record: boolean) => {
    const totals = clients.map(() => ({ wallUs: 0, cpuUs: 0, delivered: 0, samples: [] as number[] }));
    for (let i = 0; i < units; i++) {
      for (const k of i % 2 === 0 ? clients.keys() : [...clients.keys()].reverse()) {
        const cpu0 = process.cpuUsage();
        const t0 = process.hrtime.bigint();
        const delivered = await clients[k]!.send(tokens(i, k), shape);
        const wallUs = Number(process.hrtime.bigint() - t0) / 1000;
        const cpu = process.cpuUsage(cpu0);
        const total = totals[k]!;
        total.wallUs += wallUs;
        total.cpuUs += cpu.user + cpu.system;
        total.delivered += delivered;
        if (record) total.samples.push(wallUs);
      }
    }
    return totals;
  };
  await round(Math.ceil(WARMUP / unit), false);
  await standIn.reset();
  globalThis.gc?.();
  const units = Math.ceil(TOTAL / unit);
  const before = await standIn.stats();
  const totals = await round(units, true);
  const after = await standIn.stats();
  const sent = units * unit;
  const allAccepted = after.accepted === totals.reduce((n, t) => n + t.delivered, 0);
  return totals.map((t, k) => ({
    iterations: sent,
    opsPerSec: sent / (t.wallUs / 1e6),
    meanUs: t.wallUs / sent,
    p50Us: percentile(t.samples, 0.5),
    p99Us: percentile(t.samples, 0.99),
    cpuUs: t.cpuUs / sent,
    client: clients[k]!.name,
    shape,
    failures: allAccepted ? sent - t.delivered : sent,
    // Both clients' messages; the stand-in's cost per message is the same for either.
    standInCpuUs: (after.cpuUs - before.cpuUs) / (2 * sent),
  }));
}

/**
 * Our own CPU per message, apart from firebase-admin's: the same transport with its app's `sendEach` replaced by
 * a stub that accepts everything at once. Little disturbed by the machine's load, unlike the comparison above.
 */
async function ownOverheadUs(): Promise<{ fanOut: number; personalised: number }> {
  const projectId = 'idrelay-overhead';
  const transport = createFcmTransport({
    projectId,
    credential: { getAccessToken: async () => ({ access_token: 'unused', expires_in: 3600 }) },
    retry: false,
  });
  await transport.send(MESSAGE, []); // nothing to send: firebase-admin stays unloaded until the next line
  await transport.send(MESSAGE, [{ deviceId: 'warm', platform: 'fcm', token: 'warm' }]); // loads it (401 from the stand-in)
  const { getApps } = await import('firebase-admin/app');
  const { getMessaging } = await import('firebase-admin/messaging');
  const app = getApps().find((a) => a.options.projectId === projectId)!;
  const stub = async (messages: Message[]) => ({
    successCount: messages.length,
    failureCount: 0,
    responses: messages.map(() => ({ success: true, messageId: `projects/${projectId}/messages/1` })),
  });
  Object.assign(getMessaging(app), { sendEach: stub });
  const targets: DeviceTarget[] = Array.from({ length: 500 }, (_, i) => ({
    deviceId: `d${i}`,
    platform: 'fcm',
    token: `t${i}`,
  }));
  const m = await measure(() => transport.send(MESSAGE, targets), { iterations: 200, warmup: 50 });
  // The personalised shape: a message object of its own per device, so nothing is shared between requests.
  const requests = () => targets.map((target, i) => ({ message: { ...MESSAGE, ...greeting(`User ${i}`) }, target }));
  const p = await measure(() => transport.sendEach(requests()), { iterations: 200, warmup: 50 });
  await transport.close();
  return { fanOut: m.cpuUs / targets.length, personalised: p.cpuUs / targets.length };
}

const PERSONALISED_TOTAL = 10_000;
const PERSONALISED_ROUNDS = 3;
const PERSONALISED_WARMUP = 2_000;
/** Four sendEach calls of 500 in flight: our default `batchesInFlight` and `maxBatchSize`, given to the peer too. */
const PERSONALISED_IN_FLIGHT = 4;

interface PersonalisedClient {
  name: string;
  /** Sends one distinct message to each token (texts built from `names`); resolves with how many were delivered. */
  send(tokens: readonly string[], names: readonly string[]): Promise<number>;
  close(): Promise<void>;
}
interface PersonalisedResult {
  client: string;
  messages: number;
  opsPerSec: number;
  cpuUs: number;
  failures: number;
}

/** The per-user text of the personalised case: what a template renders for one recipient. */
const greeting = (name: string) => ({
  title: `${name}, approve your sign-in?`,
  body: `${name}, someone is signing in to payroll from Berlin. Tap to approve or deny.`,
});

function oursPersonalised(standIn: StandInHandle, httpAgent: import('node:https').Agent): PersonalisedClient {
  const transport = createFcmTransport({
    projectId: standIn.projectId,
    serviceAccount: standIn.serviceAccount,
    httpAgent,
    batchesInFlight: PERSONALISED_IN_FLIGHT,
  });
  return {
    name: '@idrelay/transport-fcm',
    async send(tokens, names) {
      const requests: PushRequest[] = tokens.map((token, i) => ({
        message: { ...MESSAGE, ...greeting(names[i]!) },
        target: { deviceId: token, platform: 'fcm', token },
      }));
      const results = await transport.sendEach(requests);
      return results.filter((r) => r.status === 'delivered').length;
    },
    close: () => transport.close(),
  };
}

async function peerPersonalised(
  standIn: StandInHandle,
  httpAgent: import('node:https').Agent,
): Promise<PersonalisedClient> {
  const { initializeApp, cert, deleteApp } = await import('firebase-admin/app');
  const { getMessaging } = await import('firebase-admin/messaging');
  const app = initializeApp(
    { credential: cert(standIn.serviceAccount as never, httpAgent), projectId: standIn.projectId, httpAgent },
    'bench-raw-personalised',
  );
  const messaging = getMessaging(app);
  return {
    name: PEER,
    async send(tokens, names) {
      // What a firebase-admin user writes for the same pushes: one Message per recipient, 500 per sendEach.
      const expiration = String(Math.floor(Date.now() / 1000) + 300);
      const messages: Message[] = tokens.map((token, i) => ({
        ...PEER_MESSAGE,
        notification: greeting(names[i]!),
        apns: { ...PEER_MESSAGE.apns, headers: { ...PEER_MESSAGE.apns!.headers, 'apns-expiration': expiration } },
        token,
      }));
      let delivered = 0;
      let next = 0;
      const worker = async () => {
        while (next < messages.length) {
          const batch = messages.slice(next, next + 500);
          next += 500;
          // Not `delivered += await …`: that reads `delivered` before the await, and the four workers overwrite each other.
          const response = await messaging.sendEach(batch);
          delivered += response.successCount;
        }
      };
      await Promise.all(Array.from({ length: PERSONALISED_IN_FLIGHT }, worker));
      return delivered;
    },
    close: () => deleteApp(app),
  };
}

/**
 * 10,000 distinct messages, one per device, through our `sendEach` and through firebase-admin's own
 * `messaging.sendEach` (500 per call, four calls in flight for both), against the same stand-in process. Rounds
 * alternate which client goes first; each client's wall time and CPU are summed over its rounds.
 */
async function runPersonalised(standIn: StandInHandle, httpAgent: import('node:https').Agent) {
  const clients = [oursPersonalised(standIn, httpAgent), await peerPersonalised(standIn, httpAgent)];
  const names = (n: number) => Array.from({ length: n }, (_, i) => `User ${i.toString(36)}`);
  const tokens = (n: number, k: number, round: number) =>
    Array.from({ length: n }, (_, i) => `personal-${k}-${round}-${i}`);
  try {
    for (const [k, client] of clients.entries())
      await client.send(tokens(PERSONALISED_WARMUP, k, -1), names(PERSONALISED_WARMUP));
    const totals = clients.map(() => ({ wallUs: 0, cpuUs: 0, delivered: 0 }));
    for (let round = 0; round < PERSONALISED_ROUNDS; round++) {
      await standIn.reset();
      globalThis.gc?.();
      let delivered = 0;
      for (const k of round % 2 === 0 ? [0, 1] : [1, 0]) {
        const cpu0 = process.cpuUsage();
        const t0 = process.hrtime.bigint();
        const ok = await clients[k]!.send(tokens(PERSONALISED_TOTAL, k, round), names(PERSONALISED_TOTAL));
        totals[k]!.wallUs += Number(process.hrtime.bigint() - t0) / 1000;
        const cpu = process.cpuUsage(cpu0);
        totals[k]!.cpuUs += cpu.user + cpu.system;
        totals[k]!.delivered += ok;
        delivered += ok;
      }
      const after = await standIn.stats();
      if (after.accepted !== delivered)
        throw new Error(`fcm-personalised: stand-in accepted ${after.accepted}, clients saw ${delivered}`);
    }
    const sent = PERSONALISED_TOTAL * PERSONALISED_ROUNDS;
    return totals.map(
      (t, k): PersonalisedResult => ({
        client: clients[k]!.name,
        messages: sent,
        opsPerSec: sent / (t.wallUs / 1e6),
        cpuUs: t.cpuUs / sent,
        failures: sent - t.delivered,
      }),
    );
  } finally {
    for (const client of clients) await client.close();
  }
}

/** Runs the FCM comparison and adds its rows to `report`. */
export async function run(report: Report): Promise<void> {
  const standIn = await startStandInProcess();
  const redirect = redirectFirebaseToStandIn(standIn);
  const cases: Case[] = [];
  let personalised: PersonalisedResult[] = [];
  let overheadUs = { fanOut: 0, personalised: 0 };
  try {
    const clients = [() => ours(standIn, redirect.httpAgent), () => raw(standIn, redirect.httpAgent)];
    const made = await Promise.all(clients.map((make) => make()));
    for (const shape of CASES) {
      for (const c of await runCase(made, shape, standIn)) {
        cases.push(c);
        console.log(
          `${c.client.padEnd(24)} in flight ${shape.label.padStart(5)}  ${Math.round(c.opsPerSec).toString().padStart(6)} msg/s` +
            `  sender ${c.cpuUs.toFixed(1)} µs/msg  stand-in ${c.standInCpuUs.toFixed(1)} µs/msg` +
            `  p50 ${(c.p50Us / 1000).toFixed(2)} ms  p99 ${(c.p99Us / 1000).toFixed(2)} ms  failed ${c.failures}`,
        );
      }
    }
    for (const client of made) await client.close();
    personalised = await runPersonalised(standIn, redirect.httpAgent);
    for (const p of personalised) {
      console.log(
        `${p.client.padEnd(24)} personalised ${Math.round(p.opsPerSec).toString().padStart(6)} msg/s` +
          `  sender ${p.cpuUs.toFixed(1)} µs/msg  failed ${p.failures}`,
      );
    }
    overheadUs = await ownOverheadUs();
    console.log(
      `@idrelay/transport-fcm own CPU above firebase-admin: ${overheadUs.fanOut.toFixed(2)} µs/msg (one message), ` +
        `${overheadUs.personalised.toFixed(2)} µs/msg (a message per device)`,
    );
  } finally {
    redirect.restore();
    await standIn.close();
  }
  addRows(report, cases, overheadUs.fanOut);
  addPersonalisedRow(report, personalised, overheadUs.personalised);
}

function addPersonalisedRow(report: Report, results: readonly PersonalisedResult[], ownUs: number): void {
  const ours = results.find((r) => r.client === '@idrelay/transport-fcm');
  const peer = results.find((r) => r.client === PEER);
  if (!ours || !peer) throw new Error('fcm bench: the personalised case did not run');
  if (ours.failures > 0 || peer.failures > 0) {
    throw new Error(`fcm-personalised: ${ours.failures} of ours and ${peer.failures} of the peer's failed`);
  }
  report.compare(
    {
      case: 'fcm-personalised',
      metric: `${PERSONALISED_TOTAL.toLocaleString('en-US')} distinct messages (one per device), messages per second`,
      value: Math.round(ours.opsPerSec),
      unit: 'msg/s',
      peer: PEER,
      peer_value: Math.round(peer.opsPerSec),
      note:
        `ours: one sendEach of ${PERSONALISED_TOTAL} requests; peer: messaging.sendEach 500 at a time; both 4 calls in ` +
        `flight, ${PERSONALISED_ROUNDS} interleaved rounds, inputs built inside the timed region; sender CPU ` +
        `${round(ours.cpuUs, 1)} µs/msg ours, ${round(peer.cpuUs, 1)} peer; shared 2-core VM, noisy`,
    },
    false,
  );
  report.add({
    case: 'fcm-own-cpu-personalised',
    metric: 'our CPU per message on top of firebase-admin (sendEach stubbed), 500 distinct messages per sendEach',
    value: round(ownUs, 2),
    unit: 'µs/msg',
    note: `mapping each distinct message (template, fitted identifiers, lifetime), size check (one JSON.stringify per message), batching and result mapping; firebase-admin's own CPU in the personalised case was ${round(peer.cpuUs, 1)} µs/msg`,
  });
}

function addRows(report: Report, cases: readonly Case[], overheadUs: number): void {
  const valid = (name: string) => cases.filter((c) => c.client === name && c.failures === 0);
  const best = (name: string, by: (c: Case) => number) => [...valid(name)].sort((a, b) => by(a) - by(b))[0];
  const ourName = '@idrelay/transport-fcm';
  const ourCpu = best(ourName, (c) => c.cpuUs);
  const ourRate = best(ourName, (c) => -c.opsPerSec);
  const peerCpu = best(PEER, (c) => c.cpuUs);
  const peerRate = best(PEER, (c) => -c.opsPerSec);
  if (!ourCpu || !ourRate || !peerCpu || !peerRate) throw new Error('fcm bench: a client had no clean case');
  const busy = (c: Case) => Math.round((c.standInCpuUs / (1e6 / c.opsPerSec)) * 100);
  const shared = '2-core VM shared with other engineers’ test runs; figures are noisy';
  report.compare(
    {
      case: 'fcm-cpu',
      metric: 'sender CPU per message (best of sweep)',
      value: round(ourCpu.cpuUs, 2),
      unit: 'µs/msg',
      peer: PEER,
      peer_value: round(peerCpu.cpuUs, 2),
      note: `ours at ${ourCpu.shape.label} in flight, peer at ${peerCpu.shape.label}; same redirect, HTTP/2; ${shared}`,
    },
    true,
  );
  report.compare(
    {
      case: 'fcm-throughput',
      metric: 'messages per second (best of sweep)',
      value: Math.round(ourRate.opsPerSec),
      unit: 'msg/s',
      peer: PEER,
      peer_value: Math.round(peerRate.opsPerSec),
      note: `ours at ${ourRate.shape.label} (stand-in core ${busy(ourRate)}% busy), peer at ${peerRate.shape.label} (${busy(peerRate)}%); ${shared}`,
    },
    false,
  );
  report.add({
    case: 'fcm-own-cpu',
    metric: 'our CPU per message on top of firebase-admin (sendEach stubbed), 500 per send',
    value: round(overheadUs, 2),
    unit: 'µs/msg',
    note: `mapping, size check, batching and result mapping; firebase-admin's own best was ${round(peerCpu.cpuUs, 1)} µs/msg in the sweep, so ours can cost at most ${round((overheadUs / peerCpu.cpuUs) * 100, 1)}% more`,
  });
  for (const label of ['128', '4×500']) {
    const ourAt = valid(ourName).find((c) => c.shape.label === label);
    const peerAt = valid(PEER).find((c) => c.shape.label === label);
    if (!ourAt || !peerAt) continue;
    for (const [q, key] of [
      ['p50', 'p50Us'],
      ['p99', 'p99Us'],
    ] as const) {
      report.compare(
        {
          case: `fcm-latency-${q}`,
          metric: `${q} latency of the sendEach carrying a message, ${label} in flight`,
          value: round(ourAt[key] / 1000, 2),
          unit: 'ms',
          peer: PEER,
          peer_value: round(peerAt[key] / 1000, 2),
        },
        true,
      );
    }
  }
}
