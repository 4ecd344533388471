import { IdrelayError } from '@idrelay/core';
import '../errors.js';
import { type HttpSettings, send } from './http.js';
import { objectBody } from './parse-response.js';

/**
 * How the client authenticates to OTDS.
 *
 * - `credentials`: `POST /otdsws/rest/authentication/credentials` with `{ userName, password }` returns a ticket,
 *   sent as the `OTDSTicket` header. OTDS does not say how long a ticket lives, so the client keeps it until OTDS
 *   answers 401, then asks for a new one once and repeats the request.
 * - `oauth`: the OAuth 2.0 client-credentials grant (RFC 6749 §4.4) at `POST /otdsws/oauth2/token`; the access
 *   token is sent as `Authorization: Bearer` and cached until `refreshBeforeSeconds` before `expires_in` ends.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.4
 */
export type OtdsAuth =
  | { kind: 'credentials'; userName: string; password: string }
  | {
      kind: 'oauth';
      clientId: string;
      clientSecret: string;
      /** Space-separated scopes, when the OAuth client needs some. */
      scope?: string;
      /** `post` (OTDS's examples: id and secret in the form) or `basic` (RFC 6749 §2.3.1). Default `post`. */
      clientAuthentication?: 'post' | 'basic';
      /** Renew this long before the token expires. Default 60. */
      refreshBeforeSeconds?: number;
    };

/** Produces the header that authenticates a request, and forgets it when OTDS refused it. */
export interface Authenticator {
  /** The header to send; asks OTDS for a ticket or token when none is held. One request for concurrent callers. */
  header(signal?: AbortSignal): Promise<{ name: string; value: string }>;
  /** OTDS answered 401 to a request carrying `value`: drop it, unless a newer one replaced it already. */
  invalidate(value: string): void;
  /** Tickets or tokens fetched so far (for logs and tests). */
  readonly issued: number;
}

interface Held {
  value: string;
  expiresAt: number;
}

/** Builds the authenticator for `auth` against `baseUrl` (the OTDS origin, with `/otdstenant/{tenant}` if any). */
export function createAuthenticator(auth: OtdsAuth, baseUrl: string, settings: HttpSettings): Authenticator {
  let held: Held | undefined;
  let pending: Promise<Held> | undefined;
  let issued = 0;
  const headerName = auth.kind === 'credentials' ? 'OTDSTicket' : 'Authorization';

  async function obtain(): Promise<Held> {
    const held = auth.kind === 'credentials' ? await ticket(auth) : await token(auth);
    issued++;
    return held;
  }

  async function ticket(auth: Extract<OtdsAuth, { kind: 'credentials' }>): Promise<Held> {
    const url = new URL(`${baseUrl}/otdsws/rest/authentication/credentials`);
    const response = await send(settings, {
      method: 'POST',
      url,
      json: { userName: auth.userName, password: auth.password },
    });
    if (response.status >= 400) {
      const body = response.body as { failureReason?: unknown; error?: unknown } | undefined;
      const reason = typeof body?.failureReason === 'string' ? body.failureReason : body?.error;
      throw refused(response.status, 'the user name and password', typeof reason === 'string' ? reason : undefined);
    }
    const body = objectBody(response.body);
    if (typeof body.ticket !== 'string' || body.ticket === '') {
      const reason = typeof body.failureReason === 'string' ? body.failureReason : undefined;
      if (reason !== undefined) throw refused(response.status, 'the user name and password', reason);
      throw new IdrelayError('ERR_OTDS_RESPONSE_INVALID', 'OTDS answered the credentials request without a ticket');
    }
    return { value: body.ticket, expiresAt: Number.POSITIVE_INFINITY };
  }

  async function token(auth: Extract<OtdsAuth, { kind: 'oauth' }>): Promise<Held> {
    const url = new URL(`${baseUrl}/otdsws/oauth2/token`);
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    const headers: Record<string, string> = {};
    if (auth.clientAuthentication === 'basic') {
      // RFC 6749 §2.3.1: form-urlencode id and secret before the Basic encoding.
      const pair = `${encodeURIComponent(auth.clientId)}:${encodeURIComponent(auth.clientSecret)}`;
      headers.authorization = `Basic ${Buffer.from(pair).toString('base64')}`;
    } else {
      form.set('client_id', auth.clientId);
      form.set('client_secret', auth.clientSecret);
    }
    if (auth.scope !== undefined) form.set('scope', auth.scope);
    const started = settings.clock.now();
    const response = await send(settings, { method: 'POST', url, form, headers });
    if (response.status >= 400) {
      const body = typeof response.body === 'object' && response.body !== null ? response.body : {};
      const error = (body as Record<string, unknown>).error;
      throw refused(response.status, 'the OAuth client', typeof error === 'string' ? error : undefined);
    }
    const body = objectBody(response.body);
    const accessToken = body.access_token;
    const tokenType = body.token_type;
    const expiresIn = body.expires_in;
    if (typeof accessToken !== 'string' || accessToken === '' || /[\r\n]/.test(accessToken)) {
      throw new IdrelayError('ERR_OTDS_RESPONSE_INVALID', 'OTDS answered the token request without an access_token');
    }
    if (typeof tokenType !== 'string' || tokenType.toLowerCase() !== 'bearer') {
      throw new IdrelayError(
        'ERR_OTDS_RESPONSE_INVALID',
        `OTDS issued a token of type ${String(tokenType)}, not Bearer`,
      );
    }
    // RFC 6749 §5.1: expires_in is RECOMMENDED; without it, keep the token until OTDS refuses it.
    const lifetime = typeof expiresIn === 'number' && expiresIn > 0 ? expiresIn : undefined;
    const refreshBefore = auth.refreshBeforeSeconds ?? 60;
    const expiresAt =
      lifetime === undefined
        ? Number.POSITIVE_INFINITY
        : started + Math.max(lifetime - refreshBefore, lifetime / 2) * 1000;
    return { value: `Bearer ${accessToken}`, expiresAt };
  }

  return {
    get issued() {
      return issued;
    },
    async header(signal) {
      signal?.throwIfAborted();
      if (held !== undefined && settings.clock.now() < held.expiresAt) return { name: headerName, value: held.value };
      if (pending === undefined) {
        // Shared by every caller waiting now, so one caller's abort must not fail the others' login.
        pending = obtain().then(
          (fresh) => {
            held = fresh;
            pending = undefined;
            return fresh;
          },
          (error: unknown) => {
            pending = undefined;
            throw error;
          },
        );
      }
      const fresh = signal === undefined ? await pending : await untilAborted(pending, signal);
      return { name: headerName, value: fresh.value };
    },
    invalidate(value) {
      if (held?.value === value) held = undefined;
    },
  };
}

function refused(status: number, what: string, reason?: string): IdrelayError {
  return new IdrelayError(
    'ERR_OTDS_AUTH_FAILED',
    `OTDS refused ${what} (${status}${reason === undefined ? '' : `: ${reason}`})`,
    { details: { status, ...(reason === undefined ? {} : { reason }) } },
  );
}

/** `promise`, or the abort reason as soon as `signal` aborts (the promise itself runs on for other callers). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
