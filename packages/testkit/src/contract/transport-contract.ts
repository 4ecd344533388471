import type { DeviceTarget, ErrorCode, Platform, PushMessage, Transport } from '@idrelay/core';
import { isErrorCode, isIdrelayError } from '@idrelay/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

/** The kinds of device a harness can hand out; each one makes the stand-in answer in a known way. */
export type ContractTargetKind = 'valid' | 'invalid-token' | 'retry-after' | 'rejected';

/**
 * What a stand-in received for one device, reduced to what every platform carries. The harness decodes its
 * platform's wire format (APNs payload, FCM v1 message, decrypted Web Push JSON) into this shape.
 */
export interface ContractReceivedPush {
  title?: string;
  body?: string;
  /** Custom data as the app sees it: `message.data` with the target's `data` merged over it. */
  data: Record<string, string>;
}

/**
 * One test's world, built by {@link TransportContractOptions.setup}: a transport wired to a running stand-in and
 * the probes the suite uses to check what reached the stand-in.
 */
export interface TransportContractHarness {
  /** The transport under test, already pointed at the stand-in. The suite closes it; teardown may close it again. */
  transport: Transport;
  /** Makes another, independent instance against the same stand-in (for the isolation and close tests). */
  createTransport(): Transport | Promise<Transport>;
  /**
   * A fresh device of `kind`, with a unique `deviceId`. `'retry-after'` devices get a 429 (or 503) from the
   * stand-in, with `Retry-After` when {@link TransportContractOptions.retryAfterMs} is set; `'rejected'` devices
   * get a final refusal (a 4xx that retrying cannot fix); `'invalid-token'` devices are unknown or unsubscribed.
   */
  target(kind: ContractTargetKind): DeviceTarget | Promise<DeviceTarget>;
  /** Pushes the stand-in accepted for `target`, oldest first. */
  received(target: DeviceTarget): readonly ContractReceivedPush[] | Promise<readonly ContractReceivedPush[]>;
  /** Requests that reached the stand-in for `target`, whatever the answer. Optional: enables the "nothing sent" checks. */
  attempts?(target: DeviceTarget): number | Promise<number>;
  /**
   * What the stand-in was told about the last push it accepted for `target`, or `undefined` when it accepted none:
   * `lifetimeSeconds`, how long the service may keep the push (APNs `apns-expiration` minus the request's arrival,
   * FCM Android `ttl`, Web Push `TTL`; `undefined` when none was sent), and `collapseIds`, every collapse identifier
   * the push carried (APNs `apns-collapse-id`; FCM `collapse_key` and the `apns-collapse-id` and `Topic` headers it
   * forwards; Web Push `Topic`).
   */
  lastPush(
    target: DeviceTarget,
  ):
    | { lifetimeSeconds?: number; collapseIds: readonly string[] }
    | undefined
    | Promise<{ lifetimeSeconds?: number; collapseIds: readonly string[] } | undefined>;
  /** Connections currently open at the stand-in (server side), for the "close frees sockets" checks. */
  openConnections(): number | Promise<number>;
  /** A message that is over the platform's payload limit for any target. */
  oversizedMessage(): PushMessage;
  /** Stops the stand-in and anything else `setup` started. */
  teardown(): Promise<void>;
}

/** Options of {@link transportContract}. */
export interface TransportContractOptions {
  /** Shown in the suite title, e.g. `webpush`. */
  name: string;
  /** Builds a fresh harness for every test (a stand-in start should take milliseconds). */
  setup(): Promise<TransportContractHarness>;
  /** The code a transport reports when it refuses an oversized payload, e.g. `ERR_WEBPUSH_PAYLOAD_TOO_LARGE`. */
  payloadTooLargeCode: ErrorCode;
  /** The `retryAfterMs` expected for `'retry-after'` devices; omit when the stand-in sends no `Retry-After`. */
  retryAfterMs?: number;
  /**
   * The provider's own reason expected in `reason` for each failing kind of target, e.g. APNs `/^Unregistered$/`,
   * FCM `/^messaging\/registration-token-not-registered/`, Web Push `/^410/`. `code` is checked separately: it must
   * always be one of idrelay's error codes (`isErrorCode`), whatever the provider said.
   */
  providerReasons: Record<Exclude<ContractTargetKind, 'valid'>, RegExp>;
  /** Upper bound for waits on the stand-in (connections closing); default 2000 ms. */
  waitTimeoutMs?: number;
}

const message = (over: Partial<PushMessage> = {}): PushMessage => ({
  id: 'msg-contract-1',
  title: 'Approve access to payroll?',
  body: 'Alice requests the finance-admins group.',
  urgency: 'high',
  data: { requestId: 'req-42', kind: 'access.requested' },
  ...over,
});

const ids = (items: readonly { deviceId: string }[]) => items.map((r) => r.deviceId);

/** A device of another platform than `platform`, for the mixed-batch checks. */
const foreignDevice = (platform: Platform): DeviceTarget =>
  platform === 'webpush'
    ? { deviceId: 'foreign-1', platform: 'fcm', token: 'fcm-token-1' }
    : {
        deviceId: 'foreign-1',
        platform: 'webpush',
        subscription: { endpoint: 'https://push.example.com/p/1', keys: { p256dh: 'x', auth: 'y' } },
      };

/** True when `value` holds a C0 control character or DEL, which no push header may carry. */
const hasControl = (value: string) => [...value].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);

/**
 * The shared behaviour every idrelay {@link Transport} must show against its stand-in: delivery with per-device
 * data, invalid tokens, retry-after with the service's delay, payload limits enforced before sending, results in
 * input order, every failure's `code` one of idrelay's error codes with the provider's own reason in `reason`,
 * `sendEach` with a message per device and devices of another platform, expired requests refused
 * before sending, the remaining lifetime given to the service, collapse ids over the providers' limits fitted and
 * delivered, `close()` freeing sockets and refusing later sends, and instances that do not interfere.
 *
 * Call it at the top level of a test file; it declares one `describe` block. vitest is a peer dependency.
 *
 * @example
 * ```ts
 * import { startWebPushService, transportContract } from '@idrelay/testkit';
 * import { createWebPushTransport } from '@idrelay/transport-webpush';
 *
 * transportContract({
 *   name: 'webpush',
 *   payloadTooLargeCode: 'ERR_WEBPUSH_PAYLOAD_TOO_LARGE',
 *   retryAfterMs: 7000,
 *   providerReasons: { 'invalid-token': /^410/, 'retry-after': /^429/, rejected: /^413/ },
 *   async setup() {
 *     const service = await startWebPushService();
 *     const create = () => createWebPushTransport({ vapid: service.vapidKeys, ca: service.ca });
 *     const targets = new Map();
 *     return {
 *       transport: create(),
 *       createTransport: create,
 *       target: (kind) => { … service.subscribe(), service.script(…) … },
 *       received: (t) => service.received(t.subscription).map((p) => p.json()),
 *       lastPush: (t) => { const p = service.received(t.subscription).at(-1);
 *         return p && { lifetimeSeconds: p.ttl, collapseIds: p.topic === undefined ? [] : [p.topic] }; },
 *       openConnections: () => service.openConnections(),
 *       oversizedMessage: () => ({ id: 'big', urgency: 'normal', body: 'x'.repeat(5000) }),
 *       teardown: () => service.close(),
 *     };
 *   },
 * });
 * ```
 */
export function transportContract(options: TransportContractOptions): void {
  const waitTimeout = options.waitTimeoutMs ?? 2000;

  describe(`transport contract: ${options.name}`, () => {
    let h: TransportContractHarness;
    const extra: Transport[] = [];

    beforeEach(async () => {
      h = await options.setup();
    });
    afterEach(async () => {
      for (const t of extra.splice(0)) await t.close().catch(() => {});
      await h.transport.close().catch(() => {});
      await h.teardown();
    });

    const create = async () => {
      const t = await h.createTransport();
      extra.push(t);
      return t;
    };

    it('delivers, and the stand-in receives exactly the message with per-device data merged', async () => {
      const a = await h.target('valid');
      const b = { ...(await h.target('valid')), data: { actionToken: 'tok-b', kind: 'override' } };
      const sent = message();
      const before = structuredClone(sent);

      const results = await h.transport.send(sent, [a, b]);

      expect(results).toEqual([
        expect.objectContaining({ deviceId: a.deviceId, status: 'delivered' }),
        expect.objectContaining({ deviceId: b.deviceId, status: 'delivered' }),
      ]);
      expect(await h.received(a)).toEqual([
        { title: sent.title, body: sent.body, data: { requestId: 'req-42', kind: 'access.requested' } },
      ]);
      expect(await h.received(b)).toEqual([
        { title: sent.title, body: sent.body, data: { requestId: 'req-42', kind: 'override', actionToken: 'tok-b' } },
      ]);
      expect(sent, 'send must not mutate the caller’s message').toEqual(before);
    });

    it('carries the deep link as `url` in the data the app receives, over a `url` in the message data', async () => {
      const device = await h.target('valid');
      const url = 'https://portal.example.com/password?flow=reset';
      const results = await h.transport.send(message({ url, data: { requestId: 'req-42', url: 'stale' } }), [device]);
      expect(results).toEqual([expect.objectContaining({ deviceId: device.deviceId, status: 'delivered' })]);
      const [received] = await h.received(device);
      expect(received?.data).toEqual({ requestId: 'req-42', url });
    });

    it('reports an unknown or unsubscribed device as invalid-token', async () => {
      const gone = await h.target('invalid-token');
      const [result] = await h.transport.send(message(), [gone]);
      expect(result).toMatchObject({
        deviceId: gone.deviceId,
        status: 'invalid-token',
        reason: expect.stringMatching(options.providerReasons['invalid-token']),
      });
      expect(result?.status !== 'delivered' && isErrorCode(result?.code), `${JSON.stringify(result)}`).toBe(true);
    });

    it('reports throttling as retry-after, with the service’s delay', async () => {
      const busy = await h.target('retry-after');
      const [result] = await h.transport.send(message(), [busy]);
      expect(result).toMatchObject({
        deviceId: busy.deviceId,
        status: 'retry-after',
        reason: expect.stringMatching(options.providerReasons['retry-after']),
      });
      expect(result?.status !== 'delivered' && isErrorCode(result?.code), `${JSON.stringify(result)}`).toBe(true);
      if (options.retryAfterMs !== undefined && result?.status === 'retry-after') {
        expect(result.retryAfterMs).toBe(options.retryAfterMs);
      }
    });

    it('refuses an oversized payload before sending, with the platform’s code', async () => {
      const device = await h.target('valid');
      const [result] = await h.transport.send(h.oversizedMessage(), [device]);
      expect(result).toMatchObject({
        deviceId: device.deviceId,
        status: 'rejected',
        code: options.payloadTooLargeCode,
      });
      expect(await h.received(device)).toEqual([]);
      if (h.attempts) expect(await h.attempts(device)).toBe(0);
    });

    it('answers a mixed batch with one result per device, in input order', async () => {
      const kinds: ContractTargetKind[] = ['retry-after', 'valid', 'rejected', 'invalid-token', 'valid', 'rejected'];
      const targets: DeviceTarget[] = [];
      for (const kind of kinds) targets.push(await h.target(kind));

      const results = await h.transport.send(message(), targets);

      expect(ids(results)).toEqual(ids(targets));
      expect(results.map((r) => r.status)).toEqual(kinds.map((k) => (k === 'valid' ? 'delivered' : k)));
      results.forEach((r, i) => {
        const kind = kinds[i]!;
        if (r.status === 'delivered' || kind === 'valid') return;
        expect(isErrorCode(r.code), `code ${r.code} is an idrelay error code`).toBe(true);
        expect(r.reason, `the provider's reason for a ${kind} device`).toMatch(options.providerReasons[kind]);
      });
      expect(await h.received(targets[1]!)).toHaveLength(1);
      expect(await h.received(targets[2]!)).toEqual([]);
    });

    it('sendEach gives every device its own message, one result per request in input order', async () => {
      const targets = [await h.target('valid'), await h.target('invalid-token'), await h.target('valid')];
      const messages = ['Alice', 'Eve', 'Bruno'].map((name, i) =>
        message({
          id: `msg-personal-${i}`,
          title: `Hello ${name}`,
          body: `Approve your sign-in, ${name}?`,
          data: { requestId: `req-${i}` },
        }),
      );
      const requests = targets.map((target, i) => ({ message: messages[i]!, target }));
      const before = structuredClone(requests);

      const results = await h.transport.sendEach(requests);

      expect(ids(results)).toEqual(ids(targets));
      expect(results.map((r) => r.status)).toEqual(['delivered', 'invalid-token', 'delivered']);
      for (const i of [0, 2]) {
        const { title, body, data } = messages[i]!;
        expect(await h.received(targets[i]!)).toEqual([{ title, body, data }]);
      }
      expect(requests, 'sendEach must not mutate the caller’s requests').toEqual(before);
    });

    it('sendEach refuses a device of another platform without disturbing the rest of the batch', async () => {
      const a = await h.target('valid');
      const b = await h.target('valid');
      const foreign = foreignDevice(h.transport.platform);
      const results = await h.transport.sendEach([
        { message: message(), target: a },
        { message: message(), target: foreign },
        { message: message({ title: 'Second' }), target: b },
      ]);
      expect(results).toEqual([
        expect.objectContaining({ deviceId: a.deviceId, status: 'delivered' }),
        expect.objectContaining({
          deviceId: foreign.deviceId,
          status: 'rejected',
          code: 'ERR_TRANSPORT_PLATFORM_MISMATCH',
        }),
        expect.objectContaining({ deviceId: b.deviceId, status: 'delivered' }),
      ]);
    });

    it('refuses a request whose expiresAt has passed with ERR_DELIVERY_EXPIRED; the service never sees it', async () => {
      const late = await h.target('valid');
      const onTime = await h.target('valid');
      const results = await h.transport.sendEach([
        { message: message(), target: late, expiresAt: Date.now() - 1 },
        { message: message(), target: onTime, expiresAt: Date.now() + 60_000 },
      ]);
      expect(results).toEqual([
        expect.objectContaining({ deviceId: late.deviceId, status: 'rejected', code: 'ERR_DELIVERY_EXPIRED' }),
        expect.objectContaining({ deviceId: onTime.deviceId, status: 'delivered' }),
      ]);
      expect(await h.received(late)).toEqual([]);
      if (h.attempts) expect(await h.attempts(late)).toBe(0);
    });

    it('gives the service the remaining lifetime: the smaller of ttlSeconds and what is left until expiresAt', async () => {
      const shortByExpiry = await h.target('valid');
      const shortByTtl = await h.target('valid');
      await h.transport.sendEach([
        { message: message({ ttlSeconds: 3600 }), target: shortByExpiry, expiresAt: Date.now() + 120_000 },
        { message: message({ ttlSeconds: 60 }), target: shortByTtl, expiresAt: Date.now() + 3_600_000 },
      ]);
      const byExpiry = (await h.lastPush(shortByExpiry))?.lifetimeSeconds;
      const byTtl = (await h.lastPush(shortByTtl))?.lifetimeSeconds;
      // Whole seconds, rounded down, judged when the request goes out: a little under the nominal value.
      expect(byExpiry).toBeGreaterThanOrEqual(115);
      expect(byExpiry).toBeLessThanOrEqual(120);
      expect(byTtl).toBeGreaterThanOrEqual(55);
      expect(byTtl).toBeLessThanOrEqual(60);
    });

    it('delivers a 100-byte collapse id, fitted to the provider’s limit the same way for every push', async () => {
      const collapseId = `verification-${'f'.repeat(87)}`;
      const a = await h.target('valid');
      const b = await h.target('valid');
      const results = await h.transport.sendEach([
        { message: message({ collapseId }), target: a },
        { message: message({ collapseId, body: 'The same notification, again.' }), target: b },
      ]);
      expect(results.map((r) => r.status)).toEqual(['delivered', 'delivered']);
      const [first, second] = [await h.lastPush(a), await h.lastPush(b)];
      expect(first?.collapseIds.length).toBeGreaterThan(0);
      for (const id of first?.collapseIds ?? []) {
        expect(Buffer.byteLength(id)).toBeLessThanOrEqual(64);
        expect(hasControl(id)).toBe(false);
      }
      expect(second?.collapseIds).toEqual(first?.collapseIds);
    });

    it('frees its sockets on close(), and refuses to send afterwards', async () => {
      const device = await h.target('valid');
      await h.transport.send(message(), [device]);
      expect(await h.openConnections()).toBeGreaterThan(0);

      await h.transport.close();

      await vi.waitFor(async () => expect(await h.openConnections()).toBe(0), { timeout: waitTimeout, interval: 5 });
      const error = await h.transport.send(message(), [device]).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isIdrelayError(error, 'ERR_TRANSPORT_CLOSED'), String(error)).toBe(true);
      await expect(h.transport.close(), 'close() twice is harmless').resolves.toBeUndefined();
    });

    it('keeps instances apart: closing one leaves the other working', async () => {
      const other = await create();
      const a = await h.target('valid');
      const b = await h.target('valid');
      const [first, second] = await Promise.all([h.transport.send(message(), [a]), other.send(message(), [b])]);
      expect(first?.[0]?.status).toBe('delivered');
      expect(second?.[0]?.status).toBe('delivered');

      await h.transport.close();

      const [again] = await other.send(message({ id: 'msg-contract-2' }), [b]);
      expect(again).toMatchObject({ deviceId: b.deviceId, status: 'delivered' });
      expect(await h.received(b)).toHaveLength(2);
      expect(await h.openConnections()).toBeGreaterThan(0);

      await other.close();
      await vi.waitFor(async () => expect(await h.openConnections()).toBe(0), { timeout: waitTimeout, interval: 5 });
    });
  });
}
