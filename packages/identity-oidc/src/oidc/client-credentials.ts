import { IdrelayError } from '@idrelay/core';
import * as client from 'openid-client';

/** Options of {@link createClientCredentials}. */
export interface ClientCredentialsOptions {
  /** The OpenID Provider's issuer (discovered once, again after a failure). */
  issuer: string | URL;
  clientId: string;
  /** Sent with `client_secret_basic`. */
  clientSecret: string;
  /** Space-separated scopes to ask for. */
  scope?: string;
  /** RFC 8707 resource indicator of the API the token is for. */
  resource?: string;
  /** A token is renewed this many seconds before it expires; default 60. */
  refreshBeforeSeconds?: number;
  /** Allows an `http:` issuer — for a loopback OP in tests only. */
  allowInsecureRequests?: boolean;
  /** `fetch` for every request to the OP; default the global one. */
  fetch?: typeof fetch;
  /** Clock in ms, for tests. */
  now?: () => number;
}

/** A cached client-credentials access token source; see {@link createClientCredentials}. */
export interface ClientCredentials {
  /** A valid access token: the cached one, or a new one when it is near expiry or was {@link invalidate}d. */
  token(): Promise<string>;
  /** Drops the cached token (e.g. after the API answered 401), so the next `token()` asks again. */
  invalidate(): void;
}

/**
 * Client credentials (RFC 6749 §4.4) for idrelay's own calls to IAM APIs (write-back): one token cached until
 * `refreshBeforeSeconds` before its `expires_in` runs out; concurrent callers share one token request.
 *
 * @throws {IdrelayError} from `token()`: `ERR_OIDC_UNAVAILABLE` when discovery or the token request fails (the
 * OP's error, such as `invalid_client`, is the `cause`).
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.4
 * @example
 * ```ts
 * const credentials = createClientCredentials({ issuer: 'https://idp.example.com', clientId: 'idrelay', clientSecret, scope: 'scim' });
 * await fetch(url, { headers: { authorization: `Bearer ${await credentials.token()}` } });
 * ```
 */
export function createClientCredentials(options: ClientCredentialsOptions): ClientCredentials {
  if (!options.clientId || !options.clientSecret) throw new TypeError('clientId and clientSecret are required');
  const now = options.now ?? Date.now;
  const early = (options.refreshBeforeSeconds ?? 60) * 1000;
  let config: Promise<client.Configuration> | undefined;
  let cached: { token: string; renewAt: number } | undefined;
  let pending: Promise<string> | undefined;

  const discover = () => {
    config ??= client
      .discovery(
        new URL(options.issuer),
        options.clientId,
        options.clientSecret,
        client.ClientSecretBasic(options.clientSecret),
        {
          ...(options.allowInsecureRequests ? { execute: [client.allowInsecureRequests] } : {}),
          ...(options.fetch ? { [client.customFetch]: options.fetch } : {}),
        },
      )
      .catch((error: unknown) => {
        config = undefined;
        throw error;
      });
    return config;
  };

  const request = async (): Promise<string> => {
    try {
      const parameters: Record<string, string> = {};
      if (options.scope) parameters.scope = options.scope;
      if (options.resource) parameters.resource = options.resource;
      const response = await client.clientCredentialsGrant(await discover(), parameters);
      const lifetime = (response.expires_in ?? 0) * 1000;
      // A token without `expires_in` is used for this call only.
      cached =
        lifetime > 0 ? { token: response.access_token, renewAt: now() + Math.max(lifetime - early, 0) } : undefined;
      return response.access_token;
    } catch (error) {
      throw new IdrelayError('ERR_OIDC_UNAVAILABLE', 'The client-credentials token request failed', { cause: error });
    }
  };

  return {
    async token() {
      if (cached !== undefined && now() < cached.renewAt) return cached.token;
      pending ??= request().finally(() => {
        pending = undefined;
      });
      return pending;
    },
    invalidate() {
      cached = undefined;
    },
  };
}
