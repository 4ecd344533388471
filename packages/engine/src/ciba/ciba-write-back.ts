import type { Clock, FlowStore, IdentityEvent, WriteBack, WriteBackResult } from '@idrelay/core';
import { systemClock } from '@idrelay/core';
import { type CibaErrors, type CibaLink, type CibaProvider, findCibaLink } from './ciba-link.js';

/** Options of {@link createCibaWriteBack}. */
export interface CibaWriteBackOptions<E = Error> {
  /** The `oidc-provider` instance that received the CIBA requests. */
  provider: CibaProvider<E>;
  /** `oidc-provider`'s error classes (`import { errors } from 'oidc-provider'`). */
  errors: CibaErrors<E>;
  /** `store.flows` of the relay's store, where {@link createCibaTrigger} linked requests and verifications. */
  flows: Pick<FlowStore, 'findByKey' | 'update'>;
  /**
   * Authentication methods put in the ID token (RFC 8176 §2). Default `['push', 'swk']`: a push answered with a
   * proof by a software-held device key. Use `['push', 'hwk']` when every enrolled key is hardware-backed.
   */
  amr?: readonly string[];
  /** The `acr` to report, if your clients ask for one. */
  acr?: string;
  /** Write-back name in the outgoing log. Default `ciba`. */
  name?: string;
  clock?: Clock;
}

interface VerificationOutcome {
  verificationId: string;
  decidedAt: string;
  reason?: string;
}

/**
 * Reports login verifications started through CIBA to the OpenID Provider: approved → a Grant (the request's
 * scopes, `amr`, `auth_time`) via `provider.backchannelResult()`, so the polling client gets its ID token; denied or
 * failed → `access_denied`; expired unanswered → `expired_token`. Register it in `createRelay({ writeBacks })`: the
 * relay appends each decision to its outgoing log in the decision's own transaction and hands it here at least once,
 * retried with backoff, so the OP learns the outcome even if the process dies between the decision and this call.
 * Idempotent: a request already answered (or gone from the OP) is skipped.
 *
 * @see https://openid.net/specs/openid-client-initiated-backchannel-authentication-core-1_0.html#rfc.section.10
 * @example
 * ```ts
 * const relay = createRelay({ ...options, writeBacks: [createCibaWriteBack({ provider, errors, flows: store.flows })] });
 * ```
 */
export function createCibaWriteBack<E>(options: CibaWriteBackOptions<E>): WriteBack {
  const { provider, errors, flows } = options;
  const amr = [...(options.amr ?? ['push', 'swk'])];
  const clock = options.clock ?? systemClock;

  async function markReported(flow: { id: string; version: number; data: Record<string, unknown> }, as: string) {
    // A lost race here only means another worker reported the same outcome; the OP side is already idempotent.
    await flows
      .update(flow.id, flow.version, {
        state: 'reported',
        data: { ...flow.data, reported: as },
        updatedAt: clock.now(),
      })
      .catch(() => undefined);
  }

  return {
    name: options.name ?? 'ciba',
    types: ['idrelay.auth.verification.approved', 'idrelay.auth.verification.denied'],
    async write(event: IdentityEvent): Promise<WriteBackResult> {
      const outcome = event.data as unknown as VerificationOutcome;
      const found = await findCibaLink(flows, outcome.verificationId);
      if (found === undefined) return { status: 'skipped', reason: 'not a CIBA verification' };
      const { flow, link } = found as { flow: typeof found.flow; link: CibaLink };
      if (link.reported !== undefined) return { status: 'skipped', reason: `already reported (${link.reported})` };

      let request: Awaited<ReturnType<CibaProvider<E>['BackchannelAuthenticationRequest']['find']>>;
      try {
        request = await provider.BackchannelAuthenticationRequest.find(link.authReqId, { ignoreExpiration: true });
      } catch (error) {
        return { status: 'failed', code: 'ERR_CIBA_RESULT_FAILED', reason: String(error), retryable: true };
      }
      if (request === undefined) {
        await markReported(flow, 'gone');
        return { status: 'skipped', reason: 'the OP no longer holds the request' };
      }
      if (request.grantId || request.error || request.consumed) {
        // A retry after the OP took the result but before the link was marked.
        await markReported(flow, 'gone');
        return { status: 'skipped', reason: 'the OP request already has a result' };
      }

      const approved = event.type === 'idrelay.auth.verification.approved';
      const expired = !approved && outcome.reason === 'timeout';
      try {
        if (approved) {
          const grant = new provider.Grant({ clientId: link.clientId, accountId: link.accountId });
          grant.addOIDCScope(request.scope ?? 'openid');
          const grantId = await grant.save();
          await provider.backchannelResult(link.authReqId, grantId, {
            amr,
            ...(options.acr !== undefined ? { acr: options.acr } : {}),
            authTime: Math.floor(Date.parse(outcome.decidedAt) / 1000),
          });
        } else {
          const error = expired
            ? new errors.ExpiredToken('the user did not answer the push in time')
            : new errors.AccessDenied('the user denied the sign-in on their device');
          await provider.backchannelResult(link.authReqId, error);
        }
      } catch (error) {
        return { status: 'failed', code: 'ERR_CIBA_RESULT_FAILED', reason: String(error), retryable: true };
      }
      await markReported(flow, approved ? 'approved' : expired ? 'expired' : 'denied');
      return { status: 'written', reference: link.authReqId };
    },
  };
}
