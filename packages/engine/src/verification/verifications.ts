import { randomBytes, randomInt } from 'node:crypto';
import {
  type ActionTokenRecord,
  type Clock,
  type Directory,
  type FlowRecord,
  type IdentityEvent,
  IdrelayError,
  isIdrelayError,
  type Logger,
  type Store,
  type SubjectIdentifier,
  type TimerRecord,
} from '@idrelay/core';
import { createEvent } from '@idrelay/core/events';
import type { ResponseHandler, ResponseVerdict, VerifiedResponse } from '../actions/response.js';
import { codeHash } from '../actions/token-hash.js';
import { type ConsumerRegistry, FOLLOW_UP_CONSUMER } from '../outgoing/consumers.js';
import { createPushLimit, PUSH_LIMIT_KIND, type PushLimitOptions } from './push-limit.js';

/** The flow kind of a login verification; its flow id is the verification id. */
export const VERIFICATION_KIND = 'login-verification';
/** The durable timer that expires a verification. */
export const VERIFICATION_TIMER = 'verification.expire';

/** Where a verification is. `pending` until the user answers, it expires, or too many wrong codes end it. */
export type VerificationStatus = 'pending' | 'approved' | 'denied' | 'expired' | 'failed';

/** Options of login verification (`createRelay({ verification })`). */
export interface VerificationOptions extends PushLimitOptions {
  /**
   * Digits of the number-matching code. Default 6 (≈ 20 bits, NIST SP 800-63B-4's floor). 3 or 4 are accepted as a
   * documented weaker choice (≈ 10 and 13 bits; Duo's Verified Push uses 3), for screens that cannot show more;
   * the attempt limit and the TTL then carry more of the defence.
   */
  codeDigits?: number;
  /** Lifetime of a verification, ms. Default 90 s; a call may ask for 60-120 s. */
  ttlMs?: number;
}

/** What the requesting sign-in passes to {@link RelayVerifications.start}. */
export interface VerificationStart {
  /** The user, or an RFC 9493 subject the directory resolves. */
  userId?: string;
  subject?: SubjectIdentifier;
  /** The application signing in: `{ id, name? }`, or its name. */
  application: { id: string; name?: string } | string;
  /** The sign-in's client IP (the real client's, not a proxy's). */
  ip?: string;
  /** Approximate location, e.g. `{ city: 'Zurich', country: 'CH' }`. */
  location?: { city?: string; region?: string; country?: string };
  userAgent?: string;
  /** 60-120 s; default the relay's `verification.ttlMs`. */
  ttlMs?: number;
  /**
   * A code the requesting surface already shows, instead of a fresh one: a CIBA `binding_message`, which the
   * client displays on the consumption device. Exactly `codeDigits` digits; the caller must draw it at random, as
   * the relay would (its entropy is the defence).
   */
  code?: string;
}

/** What the requesting surface shows (`code`) and polls (`verificationId`). */
export interface StartedVerification {
  verificationId: string;
  /** Shown on the sign-in screen; the user types it on the device. Never in a push. */
  code: string;
  expiresAt: number;
}

/** A verification as the IAM system polls it; details of the sign-in are only for the device (`details()`). */
export interface VerificationState {
  verificationId: string;
  userId: string;
  status: VerificationStatus;
  expiresAt: number;
  decidedAt?: number;
  deviceId?: string;
  /** "Deny and report": the user said it was not them. */
  reported?: boolean;
}

/** Login verification by push with number matching, as exposed on `relay.verifications`. */
export interface RelayVerifications {
  /**
   * Starts a verification: checks the per-user push limit, makes the code, stores the flow (only the code's hash),
   * schedules its expiry and ingests `auth.verification.requested` (without the code), which the default rules
   * push to the user's devices.
   *
   * @throws {IdrelayError} `ERR_VERIFICATION_INVALID`, `ERR_VERIFICATION_NO_DEVICE`, `ERR_VERIFICATION_RATE_LIMITED`
   * (with `details.retryAfterMs`).
   * @example
   * ```ts
   * const { verificationId, code } = await relay.verifications.start({ userId: 'alice', application: 'Payroll', ip: '203.0.113.7' });
   * ```
   */
  start(input: VerificationStart): Promise<StartedVerification>;
  /** The status to poll; `undefined` for an unknown id. */
  get(verificationId: string): Promise<VerificationState | undefined>;
}

interface VerificationData {
  userId: string;
  application: { id: string; name?: string };
  context: { ipAddress?: string; userAgent?: string; location?: Record<string, string> };
  codeHash: string;
  expiresAt: number;
  decidedAt?: number;
  deviceId?: string;
  reported?: boolean;
}

/** What {@link createVerifications} needs. */
export interface VerificationDeps {
  store: Store;
  directory: Directory;
  clock: Clock;
  logger: Logger;
  source: string;
  consumers: ConsumerRegistry;
  ingest: (event: IdentityEvent) => Promise<unknown>;
  onTimer: (at: number) => void;
  onEmitted: (at: number) => void;
  options: VerificationOptions;
}

function invalid(message: string): IdrelayError<'ERR_VERIFICATION_INVALID'> {
  return new IdrelayError('ERR_VERIFICATION_INVALID', message);
}

const iso = (at: number) => new Date(at).toISOString();

/**
 * Login verification (push MFA with number matching): `start`, `get`, the {@link ResponseHandler} for flow kind
 * `login-verification`, and the expiry timer. State lives in the FlowStore (optimistic concurrency); decisions emit
 * `auth.verification.approved` / `auth.verification.denied` (an expiry is a denial with reason `timeout`) into the
 * outgoing log in the same write, for the write-backs; "deny and report" also ingests the reported denial (the
 * default rules alert the security team) and `auth.risk.detected`.
 */
export function createVerifications(deps: VerificationDeps) {
  const { store, clock, options } = deps;
  const digits = options.codeDigits ?? 6;
  if (!Number.isInteger(digits) || digits < 3 || digits > 8) {
    throw new IdrelayError('ERR_INVALID_ARGUMENT', 'verification.codeDigits must be an integer from 3 to 8');
  }
  const defaultTtl = options.ttlMs ?? 90_000;
  const limit = createPushLimit({ ...options, flows: store.flows, clock });

  const dataOf = (flow: FlowRecord) => flow.data as unknown as VerificationData;

  async function resolveUser(input: VerificationStart): Promise<string> {
    if (typeof input.userId === 'string' && input.userId.length > 0 && input.userId.length <= 512) return input.userId;
    if (input.subject !== undefined) {
      const user = await deps.directory.findBySubject(input.subject);
      if (user) return user.id;
      throw invalid('No directory user has this subject');
    }
    throw invalid('A verification needs a userId or a subject');
  }

  type SettleFacts = {
    deviceId?: string;
    reported?: boolean;
    reason?: 'not-me' | 'timeout' | 'wrong-number';
    /** False when the caller audits the decision itself (`respond()` records `response.accepted`). */
    audit?: boolean;
  };

  /** The write that moves `flow` to `status` at `at`: its patch, the outgoing entries and the event behind them. */
  function planSettle(
    flow: FlowRecord,
    status: Exclude<VerificationStatus, 'pending'>,
    facts: SettleFacts,
    at: number,
  ) {
    const id = flow.id;
    const data = dataOf(flow);
    const base = { verificationId: id, userId: data.userId, decidedAt: iso(at) };
    const type = status === 'approved' ? 'idrelay.auth.verification.approved' : 'idrelay.auth.verification.denied';
    // Built (and validated) only when a write-back takes it or the report ingests it.
    const event =
      !deps.consumers.wants(type) && !facts.reported
        ? undefined
        : status === 'approved'
          ? createEvent(
              'idrelay.auth.verification.approved',
              { ...base, deviceId: facts.deviceId! },
              {
                source: deps.source,
                id: `${id}-approved`,
                time: new Date(at),
              },
            )
          : createEvent(
              'idrelay.auth.verification.denied',
              {
                ...base,
                ...(facts.deviceId !== undefined ? { deviceId: facts.deviceId } : {}),
                reported: facts.reported === true,
                ...(facts.reason !== undefined ? { reason: facts.reason } : {}),
              },
              { source: deps.source, id: `${id}-${status}`, time: new Date(at) },
            );
    const emit = event === undefined ? [] : deps.consumers.entriesFor(event, data.userId);
    if (facts.reported && event !== undefined) {
      // The denial reaches the security team through the default rule `reported-denial-to-security`, and the risk
      // it raises follows it: both ride the outgoing log in this write, so a crash right after cannot lose them.
      const risk = createEvent(
        'idrelay.auth.risk.detected',
        {
          userId: data.userId,
          level: 'high',
          reasons: ['denied-verification'],
          ...(Object.keys(data.context).length > 0 ? { context: data.context } : {}),
          causedBy: id,
          detectedAt: iso(at),
        },
        { source: deps.source, id: `${id}-risk`, time: new Date(at) },
      );
      for (const followUp of [event, risk])
        emit.push({ consumer: FOLLOW_UP_CONSUMER, orderKey: data.userId, event: followUp });
    }
    const patch = {
      state: status,
      data: {
        ...flow.data,
        decidedAt: at,
        ...(facts.deviceId !== undefined ? { deviceId: facts.deviceId } : {}),
        ...(facts.reported ? { reported: true } : {}),
      },
      transitions: flow.transitions + 1,
      updatedAt: at,
    };
    return { data, event, emit, patch };
  }

  /** What follows a written decision: the outgoing wake-up and the push limit. */
  async function afterSettle(
    plan: ReturnType<typeof planSettle>,
    status: Exclude<VerificationStatus, 'pending'>,
    at: number,
    /** The user's push-limit flow as read with the answer's token (`null`: none), when it was. */
    limitFlow?: FlowRecord | null,
  ): Promise<void> {
    const { data, emit } = plan;
    if (emit.length > 0) deps.onEmitted(at);
    await (status === 'expired' ? limit.unanswered(data.userId) : limit.answered(data.userId, limitFlow));
  }

  /**
   * Moves a pending verification to `status` and emits its event with the change, in one write; `false` when it
   * was no longer pending (decided elsewhere, expired).
   */
  async function settle(
    id: string,
    status: Exclude<VerificationStatus, 'pending'>,
    facts: SettleFacts,
    /** The flow as the caller just read it: the first attempt uses it; a version conflict reads it afresh. */
    current?: FlowRecord,
  ): Promise<boolean> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const flow = attempt === 0 && current !== undefined ? current : await store.flows.get(id);
      if (flow === undefined || flow.state !== 'pending') return false;
      const at = clock.now();
      const plan = planSettle(flow, status, facts, at);
      try {
        await store.flows.update(id, flow.version, plan.patch, plan.emit.length > 0 ? { emit: plan.emit } : {});
      } catch (error) {
        if (isIdrelayError(error, 'ERR_STORE_CONFLICT')) continue;
        throw error;
      }
      await store.timers.cancel([`${VERIFICATION_TIMER}:${id}`]);
      if (facts.audit !== false)
        await store.audit.append([
          {
            at,
            action: `verification.${status}`,
            actor: status === 'expired' ? 'system' : plan.data.userId,
            target: id,
            details: { deviceId: facts.deviceId ?? null, reported: facts.reported === true },
          },
        ]);
      await afterSettle(plan, status, at);
      return true;
    }
    return false;
  }

  const decidedVerdict = (detail: string) => ({
    status: 'rejected' as const,
    code: 'ERR_ACTION_ALREADY_DECIDED' as const,
    detail,
  });

  const handler: ResponseHandler = {
    kinds: [VERIFICATION_KIND],
    // Every answer resets the push back-off when it is set: its counters are read with the token.
    userFlowKind: PUSH_LIMIT_KIND,
    async apply(response: VerifiedResponse): Promise<ResponseVerdict> {
      const id = response.token.flowId!;
      const flow = response.flow?.id === id ? response.flow : await store.flows.get(id);
      const decided = (detail: string): ResponseVerdict => ({
        status: 'rejected',
        code: 'ERR_ACTION_ALREADY_DECIDED',
        detail,
      });
      if (flow === undefined || flow.state !== 'pending') return decided('The sign-in was already decided');
      if (dataOf(flow).expiresAt <= response.receivedAt) return decided('The sign-in request expired');
      const status = response.decision === 'approve' ? 'approved' : 'denied';
      const reported = response.decision === 'report';
      const applied = await settle(
        id,
        status,
        {
          deviceId: response.deviceId,
          audit: false,
          ...(reported ? { reported: true, reason: 'not-me' as const } : {}),
        },
        flow,
      );
      if (!applied) return decided('The sign-in was decided on another device');
      // The other devices' pushes can no longer be answered.
      await store.actionTokens.revokeByNotification(response.notificationId, response.receivedAt);
      return {
        status: 'applied',
        flowId: id,
        state: status,
        events: [
          status === 'approved' ? 'idrelay.auth.verification.approved' : 'idrelay.auth.verification.denied',
          ...(reported ? ['idrelay.auth.risk.detected'] : []),
        ],
      };
    },
    prepare(response: VerifiedResponse) {
      const id = response.token.flowId;
      const flow = response.flow;
      if (id === undefined || flow?.id !== id) return undefined;
      if (flow.state !== 'pending') return decidedVerdict('The sign-in was already decided');
      if (dataOf(flow).expiresAt <= response.receivedAt) return decidedVerdict('The sign-in request expired');
      const status = response.decision === 'approve' ? 'approved' : 'denied';
      const reported = response.decision === 'report';
      const facts: SettleFacts = {
        deviceId: response.deviceId,
        audit: false,
        ...(reported ? { reported: true, reason: 'not-me' as const } : {}),
      };
      const plan = planSettle(flow, status, facts, response.receivedAt);
      return {
        flow: {
          id,
          expectedVersion: flow.version,
          patch: plan.patch,
          ...(plan.emit.length > 0 ? { emit: plan.emit } : {}),
        },
        cancelTimers: [`${VERIFICATION_TIMER}:${id}`],
        revokeOthers: true,
        verdict: {
          status: 'applied' as const,
          flowId: id,
          state: status,
          events: [
            status === 'approved' ? 'idrelay.auth.verification.approved' : 'idrelay.auth.verification.denied',
            ...(reported ? ['idrelay.auth.risk.detected'] : []),
          ],
        },
        after: () => afterSettle(plan, status, response.receivedAt, response.userFlow),
      };
    },
    async details(token: ActionTokenRecord) {
      const flow = token.flowId === undefined ? undefined : await store.flows.get(token.flowId);
      if (flow === undefined) return undefined;
      const data = dataOf(flow);
      return {
        verificationId: flow.id,
        application: data.application,
        ...data.context,
        expiresAt: data.expiresAt,
        status: flow.state,
      };
    },
    async failClosed(token: ActionTokenRecord) {
      if (token.flowId !== undefined) await settle(token.flowId, 'failed', { reason: 'wrong-number' });
    },
  };

  const verifications: RelayVerifications = {
    async start(input) {
      if (typeof input !== 'object' || input === null) throw invalid('start() takes an object');
      const userId = await resolveUser(input);
      const application =
        typeof input.application === 'string' ? { id: input.application, name: input.application } : input.application;
      if (typeof application?.id !== 'string' || application.id.length === 0 || application.id.length > 256) {
        throw invalid('A verification needs the application (an id of 1-256 characters)');
      }
      const ttlMs = input.ttlMs ?? defaultTtl;
      if (!Number.isInteger(ttlMs) || ttlMs < 60_000 || ttlMs > 120_000) {
        throw invalid('ttlMs must be between 60 000 and 120 000 ms');
      }
      for (const [name, value, max] of [
        ['ip', input.ip, 64],
        ['userAgent', input.userAgent, 1024],
      ] as const) {
        if (value !== undefined && (typeof value !== 'string' || value.length > max)) {
          throw invalid(`${name} must be a string of at most ${max} characters`);
        }
      }
      if (
        input.code !== undefined &&
        (typeof input.code !== 'string' || !new RegExp(`^[0-9]{${digits}}$`).test(input.code))
      ) {
        throw invalid(`code must be exactly ${digits} digits`);
      }
      const devices = (await store.devices.listByUser(userId)).filter((d) => d.publicKey !== undefined);
      if (devices.length === 0) {
        throw new IdrelayError('ERR_VERIFICATION_NO_DEVICE', 'The user has no enrolled device', {
          details: { userId },
        });
      }
      await limit.take(userId);
      const now = clock.now();
      const id = `v_${randomBytes(16).toString('base64url')}`;
      const code = input.code ?? String(randomInt(0, 10 ** digits)).padStart(digits, '0');
      const expiresAt = now + ttlMs;
      const context = {
        ...(input.ip !== undefined ? { ipAddress: input.ip } : {}),
        ...(input.userAgent !== undefined ? { userAgent: input.userAgent } : {}),
        ...(input.location !== undefined ? { location: { ...input.location } } : {}),
      };
      await store.flows.create({
        id,
        kind: VERIFICATION_KIND,
        definitionVersion: 1,
        key: id,
        state: 'pending',
        data: { userId, application, context, codeHash: codeHash(id, code), expiresAt } satisfies VerificationData,
        transitions: 0,
        createdAt: now,
        updatedAt: now,
      });
      const timer: TimerRecord = {
        id: `${VERIFICATION_TIMER}:${id}`,
        kind: VERIFICATION_TIMER,
        dueAt: expiresAt,
        flowId: id,
        payload: { verificationId: id },
      };
      await store.timers.schedule(timer);
      deps.onTimer(expiresAt);
      await store.audit.append([
        {
          at: now,
          action: 'verification.started',
          actor: userId,
          target: id,
          details: { application: application.id, expiresAt },
        },
      ]);
      // Nothing personal and no code: the device fetches application, IP, location and user agent via details().
      await deps.ingest(
        createEvent(
          'idrelay.auth.verification.requested',
          { verificationId: id, userId, application, expiresAt: iso(expiresAt) },
          { source: deps.source, id, time: new Date(now) },
        ),
      );
      return { verificationId: id, code, expiresAt };
    },
    async get(verificationId) {
      const flow = await store.flows.get(verificationId);
      if (flow === undefined || flow.kind !== VERIFICATION_KIND) return undefined;
      const data = dataOf(flow);
      const lapsed = flow.state === 'pending' && data.expiresAt <= clock.now();
      return {
        verificationId,
        userId: data.userId,
        status: lapsed ? 'expired' : (flow.state as VerificationStatus),
        expiresAt: data.expiresAt,
        ...(data.decidedAt !== undefined ? { decidedAt: data.decidedAt } : {}),
        ...(data.deviceId !== undefined ? { deviceId: data.deviceId } : {}),
        ...(data.reported ? { reported: true } : {}),
      };
    },
  };

  return {
    verifications,
    handler,
    /** The expiry timer: a verification still pending at its `expiresAt` becomes `expired`. */
    async onTimer(timer: TimerRecord): Promise<void> {
      const id = String(timer.payload.verificationId ?? timer.flowId);
      await settle(id, 'expired', { reason: 'timeout' });
    },
  };
}
