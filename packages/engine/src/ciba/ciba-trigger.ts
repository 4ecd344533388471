import { type Clock, type FlowStore, isIdrelayError, systemClock } from '@idrelay/core';
import type { RelayVerifications, VerificationStart } from '../verification/verifications.js';
import { CIBA_LINK_KIND, type CibaErrors, type CibaLink } from './ciba-link.js';

/** The CIBA request as `oidc-provider` hands it to `triggerAuthenticationDevice` (the fields the relay reads). */
export interface CibaRequestLike {
  /** The `auth_req_id` the client polls with. */
  readonly jti: string;
  readonly params?: Readonly<Record<string, unknown>> | undefined;
}

/** The sign-in context the relay shows on the device (never in the push). */
export type CibaSignInContext = Pick<VerificationStart, 'ip' | 'userAgent' | 'location'>;

/** Options of {@link createCibaTrigger}. */
export interface CibaTriggerOptions {
  /** `relay.verifications` (login verification with number matching). */
  verifications: Pick<RelayVerifications, 'start'>;
  /** `store.flows` of the same store the relay uses: the request ↔ verification link is kept there. */
  flows: Pick<FlowStore, 'create'>;
  /** `oidc-provider`'s error classes (`import { errors } from 'oidc-provider'`). */
  errors: CibaErrors;
  /**
   * Digits of the number-matching code; must equal the relay's `verification.codeDigits`. The client's
   * `binding_message` must be exactly this many digits: it is the code the consumption device shows. Default 6.
   */
  codeDigits?: number;
  /** The relay user of an OP account; default the account id itself. */
  userOf?: (account: { accountId: string }) => string;
  /**
   * The sign-in's context from the backchannel request (e.g. a `request_context` your clients send). The request
   * itself comes from the client's server, so its IP is not the user's and is not used. Default: none.
   */
  context?: (params: Readonly<Record<string, unknown>>) => CibaSignInContext | undefined;
  /** Verification lifetime, ms (60-120 s); default the relay's. */
  ttlMs?: number;
  clock?: Clock;
}

/** The two `features.ciba` hooks of `oidc-provider` the relay serves. */
export interface CibaTrigger {
  /**
   * `features.ciba.validateBindingMessage`: a `binding_message` is required and must be the number-matching code
   * (`codeDigits` digits); refused with `invalid_binding_message` before the request is stored.
   */
  validateBindingMessage(ctx: unknown, bindingMessage?: string): Promise<void>;
  /**
   * `features.ciba.triggerAuthenticationDevice`: starts a login verification for the account with the binding
   * message as its code, then records which CIBA request it answers. A refused start (no enrolled device, push
   * limit) reaches the client as `access_denied`.
   */
  triggerAuthenticationDevice(
    ctx: unknown,
    request: CibaRequestLike,
    account: { accountId: string },
    client: { clientId: string; clientName?: string | undefined },
  ): Promise<void>;
}

/**
 * The relay as the authentication device of an OpenID Provider's Client-Initiated Backchannel Authentication:
 * hooks for `oidc-provider`'s `features.ciba` that turn a backchannel request into a push login verification
 * whose number-matching code is the client's `binding_message`. The outcome goes back to the OP through
 * {@link createCibaWriteBack}, on the relay's durable outgoing path.
 *
 * @see https://openid.net/specs/openid-client-initiated-backchannel-authentication-core-1_0.html#rfc.section.7.1
 * @example
 * ```ts
 * const ciba = createCibaTrigger({ verifications: relay.verifications, flows: store.flows, errors });
 * new Provider(issuer, { features: { ciba: { enabled: true, ...ciba, processLoginHint, validateRequestContext, verifyUserCode } } });
 * ```
 */
export function createCibaTrigger(options: CibaTriggerOptions): CibaTrigger {
  const digits = options.codeDigits ?? 6;
  if (!Number.isInteger(digits) || digits < 3 || digits > 8) {
    throw new TypeError(`createCibaTrigger: codeDigits must be an integer from 3 to 8, got ${digits}`);
  }
  const clock = options.clock ?? systemClock;
  const { errors } = options;
  const codePattern = new RegExp(`^[0-9]{${digits}}$`);
  const checkMessage = (message: unknown): string => {
    if (typeof message !== 'string' || !codePattern.test(message)) {
      // No approve-on-tap: without the code shown on the consumption device there is nothing to match.
      throw new errors.InvalidBindingMessage(`binding_message must be the ${digits}-digit code the user is shown`);
    }
    return message;
  };

  return {
    async validateBindingMessage(_ctx, bindingMessage) {
      checkMessage(bindingMessage);
    },
    async triggerAuthenticationDevice(_ctx, request, account, client) {
      const params = request.params ?? {};
      const code = checkMessage(params.binding_message);
      const userId = options.userOf ? options.userOf(account) : account.accountId;
      let started: { verificationId: string };
      try {
        started = await options.verifications.start({
          userId,
          application: { id: client.clientId, name: client.clientName ?? client.clientId },
          code,
          ...(options.context?.(params) ?? {}),
          ...(options.ttlMs !== undefined ? { ttlMs: options.ttlMs } : {}),
        });
      } catch (error) {
        if (
          isIdrelayError(error, 'ERR_VERIFICATION_NO_DEVICE') ||
          isIdrelayError(error, 'ERR_VERIFICATION_RATE_LIMITED')
        ) {
          throw Object.assign(new errors.AccessDenied(error.message), { cause: error });
        }
        throw error;
      }
      const now = clock.now();
      const link: CibaLink = { authReqId: request.jti, clientId: client.clientId, accountId: account.accountId };
      // Written after the verification exists: a decision needs a push, a fetch and a typed code, so it cannot
      // overtake this write; a crash in between leaves the OP's request to expire (expired_token).
      await options.flows.create({
        id: `ciba_${started.verificationId}`,
        kind: CIBA_LINK_KIND,
        definitionVersion: 1,
        key: started.verificationId,
        state: 'pending',
        data: { ...link },
        transitions: 0,
        createdAt: now,
        updatedAt: now,
      });
    },
  };
}
