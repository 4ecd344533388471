import type { KeyObject } from 'node:crypto';
import {
  type ActionTokenRecord,
  type ConsumeResult,
  type ErrorCode,
  type FlowRecord,
  isIdrelayError,
  type Logger,
  type Store,
} from '@idrelay/core';
import {
  type ActionRequest,
  assertLive,
  authenticateRequest,
  type RefusalFacts,
  readRequest,
  refuse,
  sameHash,
  trackDeviceRequest,
} from './authenticate.js';
import type { ResponseHandler, ResponseVerdict, VerifiedResponse } from './response.js';
import { codeHash, tokenHash } from './token-hash.js';

/** Decisions that never need the number-matching code: refusing is always allowed without it. */
const REFUSALS = new Set(['deny', 'report']);

/** Options of the response protocol (`createRelay({ actions })`). docs/protocol.md. */
export interface ActionsOptions {
  /** The absolute URL devices POST responses to (the proof's `htu`). Default `http://localhost/idrelay/actions/respond`. */
  respondUrl?: string;
  /**
   * The absolute URL devices GET details from. Default `http://localhost/idrelay/actions/details`. It may hold the
   * placeholder `{notificationId}` (a REST path such as `https://relay.example/v1/notifications/{notificationId}/details`):
   * the proof's `htu` must then name the token's own notification.
   */
  detailsUrl?: string;
  /** Accepted clock difference between device and relay, ms. Default 60 s. */
  skewMs?: number;
  /** Wrong number-matching codes before the request fails closed. Default 3. */
  maxCodeAttempts?: number;
  /** Lifetime of an action token whose delivery has no expiry, ms. Default 24 h. */
  tokenTtlMs?: number;
}

/** What a device gets back for an applied response. */
export interface RespondResult {
  status: 'applied';
  notificationId: string;
  decision: string;
  flowId?: string;
  state?: string;
}

/** What a device gets back for a details request: the request behind the push, never sent in the push itself. */
export interface DetailsResult {
  notificationId: string;
  flowId?: string;
  kind?: string;
  actions: readonly string[];
  expiresAt: number;
  /** True when approving needs the number shown on the requesting screen. */
  numberMatching: boolean;
  details: Record<string, unknown>;
}

/** `relay.respond()` and `relay.details()`. */
export interface Responder {
  respond(request: ActionRequest): Promise<RespondResult>;
  details(request: ActionRequest): Promise<DetailsResult>;
}

/** What {@link createResponder} needs. */
export interface ResponderOptions extends ActionsOptions {
  store: Store;
  now: () => number;
  logger: Logger;
  keyFor: (spki: string) => KeyObject;
  handlers: () => readonly ResponseHandler[];
}

/** Default URLs, skew and limits of the protocol. */
export const ACTION_DEFAULTS = {
  respondUrl: 'http://localhost/idrelay/actions/respond',
  detailsUrl: 'http://localhost/idrelay/actions/details',
  skewMs: 60_000,
  maxCodeAttempts: 3,
  tokenTtlMs: 24 * 60 * 60_000,
} as const;

/**
 * The response protocol's server side (docs/protocol.md §6): read the token (never consume first), verify the
 * device's proof, check bindings, freshness, state, decision and number-matching code, then consume the token
 * (atomic: of concurrent copies exactly one wins) and hand the verified response to the {@link ResponseHandler}
 * of the token's flow kind. Every accept and every refusal is audited with who, what, when and which device.
 */
export function createResponder(options: ResponderOptions): Responder {
  const { store, now, logger } = options;
  const respondUrl = options.respondUrl ?? ACTION_DEFAULTS.respondUrl;
  const detailsUrl = options.detailsUrl ?? ACTION_DEFAULTS.detailsUrl;
  const skewMs = options.skewMs ?? ACTION_DEFAULTS.skewMs;
  const detailsTarget = detailsUrl.includes('{notificationId}')
    ? (token: ActionTokenRecord) => detailsUrl.replace('{notificationId}', encodeURIComponent(token.notificationId))
    : detailsUrl;
  const maxAttempts = options.maxCodeAttempts ?? ACTION_DEFAULTS.maxCodeAttempts;
  const auth = { store, now, keyFor: options.keyFor, skewMs };
  /** The per-user flow kind the handlers want read with the token: one kind, or none when they disagree. */
  let kindsOf: readonly ResponseHandler[] | undefined;
  let userFlowKind: string | undefined;
  const userFlowKindOf = (handlers: readonly ResponseHandler[]) => {
    if (handlers !== kindsOf) {
      const kinds = new Set(handlers.flatMap((h) => (h.userFlowKind === undefined ? [] : [h.userFlowKind])));
      userFlowKind = kinds.size === 1 ? [...kinds][0] : undefined;
      kindsOf = handlers;
    }
    return userFlowKind;
  };

  async function audit(action: string, at: number, facts: RefusalFacts, details: Record<string, unknown>) {
    try {
      await store.audit.append([
        {
          at,
          action,
          actor: facts.userId ?? 'unknown',
          target: facts.notificationId ?? 'unknown',
          details: { deviceId: facts.deviceId ?? null, ...details },
        },
      ]);
    } catch (error) {
      logger.error({ err: error, action }, 'auditing a device request failed');
    }
  }

  function handlerFor(token: ActionTokenRecord, flow: FlowRecord | undefined, facts: RefusalFacts): ResponseHandler {
    const kind = token.flowId === undefined ? '*' : flow?.kind;
    const handler = kind === undefined ? undefined : options.handlers().find((h) => h.kinds.includes(kind));
    if (handler === undefined) {
      throw refuse('ERR_ACTION_NO_HANDLER', `No response handler takes flow kind "${kind ?? 'missing'}"`, facts);
    }
    return handler;
  }

  /** Runs `work`, auditing its refusal (with the code) before rethrowing it. */
  async function audited<T>(kind: 'response' | 'details', input: unknown, work: () => Promise<T>): Promise<T> {
    try {
      return await trackDeviceRequest(work);
    } catch (error) {
      const code: ErrorCode = isIdrelayError(error) ? error.code : 'ERR_ACTION_REQUEST_INVALID';
      const facts = (isIdrelayError(error) ? (error.details as RefusalFacts | undefined) : undefined) ?? {};
      const token = (input as { token?: unknown } | null)?.token;
      await audit(`${kind}.rejected`, now(), facts, {
        code,
        ...(typeof token === 'string' && facts.notificationId === undefined ? { tokenHash: tokenHash(token) } : {}),
      });
      throw error;
    }
  }

  return {
    respond: (input) =>
      audited('response', input, async () => {
        const request = readRequest(input);
        const kind = userFlowKindOf(options.handlers());
        const { hash, stored, device, claims, flow, userFlow } = await authenticateRequest(
          request,
          { method: 'POST', url: respondUrl },
          kind === undefined ? auth : { ...auth, userFlowKind: kind },
        );
        const token = stored.record;
        const facts: RefusalFacts = {
          userId: token.userId,
          deviceId: device.deviceId,
          notificationId: token.notificationId,
        };
        const receivedAt = now();
        assertLive(stored, receivedAt, facts);
        if (claims.decision === undefined || !token.actions.includes(claims.decision)) {
          throw refuse('ERR_ACTION_DECISION_NOT_ALLOWED', 'The decision is not one this token allows', facts, {
            allowed: token.actions,
          });
        }
        const handler = handlerFor(token, flow, facts);
        const expected = token.codeHash ?? (flow?.data.codeHash as string | undefined);
        if (expected !== undefined && !REFUSALS.has(claims.decision)) {
          if (stored.attempts >= maxAttempts) {
            throw refuse('ERR_ACTION_ATTEMPTS_EXCEEDED', 'Too many wrong codes', facts);
          }
          const given = claims.code === undefined ? '' : codeHash(token.flowId ?? token.notificationId, claims.code);
          if (!sameHash(given, expected)) {
            const attempts = await store.actionTokens.recordFailure(hash, receivedAt);
            if (attempts >= maxAttempts) {
              await store.actionTokens.revokeByNotification(token.notificationId, receivedAt);
              await handler.failClosed?.(token, 'ERR_ACTION_ATTEMPTS_EXCEEDED');
              throw refuse('ERR_ACTION_ATTEMPTS_EXCEEDED', 'Too many wrong codes: the request failed closed', facts);
            }
            throw refuse('ERR_ACTION_CODE_MISMATCH', 'The number-matching code is wrong', facts, {
              attemptsLeft: maxAttempts - attempts,
            });
          }
        }
        const verified: VerifiedResponse = {
          token,
          notificationId: token.notificationId,
          userId: token.userId,
          deviceId: device.deviceId,
          decision: claims.decision,
          proofId: claims.jti,
          signedAt: claims.iat * 1000,
          receivedAt,
          proof: request.proof,
          ...(claims.comment !== undefined ? { comment: claims.comment } : {}),
          ...(flow !== undefined ? { flow } : {}),
          ...(userFlow !== undefined && handler.userFlowKind === kind ? { userFlow } : {}),
        };
        const accepted = (verdict: { flowId?: string; state?: string }) => ({
          at: receivedAt,
          action: 'response.accepted',
          actor: facts.userId ?? 'unknown',
          target: facts.notificationId ?? 'unknown',
          details: {
            deviceId: facts.deviceId ?? null,
            decision: claims.decision,
            proofId: claims.jti,
            ...(verdict.flowId !== undefined ? { flowId: verdict.flowId } : {}),
            ...(verdict.state !== undefined ? { state: verdict.state } : {}),
          },
        });
        const spent = (consumed: ConsumeResult) => {
          if (consumed.status === 'ok') return;
          const code = (
            {
              used: 'ERR_ACTION_TOKEN_USED',
              revoked: 'ERR_ACTION_TOKEN_REVOKED',
              expired: 'ERR_ACTION_TOKEN_EXPIRED',
              unknown: 'ERR_ACTION_TOKEN_UNKNOWN',
            } as const
          )[consumed.status];
          throw refuse(code, `The action token is ${consumed.status}`, facts);
        };
        // Fast path: the handler plans the decision, and the token, the flow, the other devices' tokens, the
        // timers, the outgoing entries and the audit are written in one transaction.
        const prepared = handler.prepare?.(verified);
        let verdict: ResponseVerdict | undefined;
        if (prepared !== undefined && 'verdict' in prepared) {
          const written = await store.actionTokens.applyResponse({
            tokenHash: hash,
            record: token,
            at: receivedAt,
            flow: prepared.flow,
            ...(prepared.revokeOthers ? { revokeNotification: token.notificationId } : {}),
            ...(prepared.cancelTimers !== undefined ? { cancelTimers: prepared.cancelTimers } : {}),
            audit: [...(prepared.audit ?? []), accepted(prepared.verdict)],
          });
          spent(written.consumed);
          if (written.flow === 'moved') {
            await prepared.after?.();
            verdict = prepared.verdict;
          } else {
            // The flow moved on between the read and the write: the token is ours; apply the slow way.
            verdict = await handler.apply(verified);
            if (verdict.status === 'applied')
              await audit('response.accepted', receivedAt, facts, accepted(verdict).details);
          }
        } else {
          spent(await store.actionTokens.consume(hash, receivedAt));
          verdict = prepared ?? (await handler.apply(verified));
          if (verdict.status === 'applied')
            await audit('response.accepted', receivedAt, facts, accepted(verdict).details);
        }
        if (verdict.status === 'rejected') {
          throw refuse(verdict.code, verdict.detail, facts);
        }
        return {
          status: 'applied',
          notificationId: token.notificationId,
          decision: claims.decision,
          ...(verdict.flowId !== undefined ? { flowId: verdict.flowId } : {}),
          ...(verdict.state !== undefined ? { state: verdict.state } : {}),
        };
      }),

    details: (input) =>
      audited('details', input, async () => {
        const request = readRequest(input);
        const { stored, device, claims, flow } = await authenticateRequest(
          request,
          { method: 'GET', url: detailsTarget },
          auth,
        );
        const token = stored.record;
        const facts: RefusalFacts = {
          userId: token.userId,
          deviceId: device.deviceId,
          notificationId: token.notificationId,
        };
        if (request.notificationId !== undefined && request.notificationId !== token.notificationId) {
          throw refuse('ERR_ACTION_REQUEST_INVALID', 'The token belongs to another notification', facts);
        }
        const at = now();
        assertLive(stored, at, facts);
        if (claims.decision !== undefined) {
          throw refuse('ERR_ACTION_PROOF_INVALID', 'A details proof carries no decision', facts);
        }
        // A details request consumes nothing, so its proof id is remembered (single use) until it would be stale.
        const fresh = await store.actionTokens.putOnce({
          tokenHash: tokenHash(`jti\u0000${device.deviceId}\u0000${claims.jti}`),
          notificationId: token.notificationId,
          userId: token.userId,
          deviceId: device.deviceId,
          actions: [],
          purpose: 'proof',
          expiresAt: claims.iat * 1000 + skewMs + 1,
          createdAt: at,
        });
        if (!fresh) throw refuse('ERR_ACTION_PROOF_REPLAYED', 'The proof was already used', facts);
        const handler = options
          .handlers()
          .find((h) => h.kinds.includes(token.flowId === undefined ? '*' : (flow?.kind ?? '')));
        const details = (await handler?.details?.(token)) ?? {};
        await audit('details.served', at, facts, { proofId: claims.jti });
        return {
          notificationId: token.notificationId,
          ...(token.flowId !== undefined ? { flowId: token.flowId } : {}),
          ...(flow !== undefined ? { kind: flow.kind } : {}),
          actions: token.actions,
          expiresAt: token.expiresAt,
          numberMatching: (token.codeHash ?? flow?.data.codeHash) !== undefined,
          details,
        };
      }),
  };
}
