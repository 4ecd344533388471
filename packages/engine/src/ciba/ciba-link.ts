import type { FlowRecord, FlowStore } from '@idrelay/core';

/**
 * The flow kind of the durable link between an OpenID Provider's CIBA request and the relay's login verification;
 * its key is the verification id, its data the request id (`auth_req_id`), client and account.
 */
export const CIBA_LINK_KIND = 'ciba-request';

/** What the relay must remember to answer the OP after a restart. */
export interface CibaLink {
  /** The OP's `auth_req_id` (the request's `jti`); `backchannelResult()` finds the request by it. */
  authReqId: string;
  clientId: string;
  /** The OP's account id; the Grant must name the same one. */
  accountId: string;
  /** Set once the outcome was reported to the OP. */
  reported?: 'approved' | 'denied' | 'expired' | 'gone';
}

/**
 * The part of an `oidc-provider` 9 `Provider` the CIBA channel uses, spelled structurally so the engine does not
 * depend on `oidc-provider` (pass the provider instance itself). `E` is the provider's error base class.
 *
 * @see https://github.com/panva/node-oidc-provider/blob/main/docs/README.md#featuresciba
 */
export interface CibaProvider<E = Error> {
  readonly Grant: new (properties: {
    clientId: string;
    accountId: string;
  }) => { addOIDCScope(scope: string): unknown; save(): Promise<string> };
  readonly BackchannelAuthenticationRequest: {
    find(
      id: string,
      options?: { ignoreExpiration?: boolean },
    ): Promise<
      { scope?: string | undefined; grantId?: string; error?: string | undefined; consumed?: unknown } | undefined
    >;
  };
  backchannelResult(
    request: string,
    result: string | E,
    options?: { acr?: string; amr?: string[]; authTime?: number },
  ): Promise<void>;
}

/**
 * The `oidc-provider` error classes the channel throws or reports (`import { errors } from 'oidc-provider'`); `E` is
 * their base class (`errors.OIDCProviderError`), the only error `backchannelResult()` accepts.
 */
export interface CibaErrors<E = Error> {
  AccessDenied: new (description?: string) => E;
  ExpiredToken: new (description?: string) => E;
  InvalidBindingMessage: new (description?: string) => E;
}

/** Reads the link of verification `verificationId`, or `undefined` when it did not come from CIBA. */
export async function findCibaLink(
  flows: Pick<FlowStore, 'findByKey'>,
  verificationId: string,
): Promise<{ flow: FlowRecord; link: CibaLink } | undefined> {
  const flow = await flows.findByKey(CIBA_LINK_KIND, verificationId);
  return flow === undefined ? undefined : { flow, link: flow.data as unknown as CibaLink };
}
