import { IdrelayError } from '@idrelay/core';

/**
 * Transmitter metadata (SSF 1.0 §"Transmitter Configuration Metadata"); unknown members are kept.
 *
 * @see https://openid.net/specs/openid-sharedsignals-framework-1_0.html
 */
export interface SsfTransmitterMetadata {
  issuer: string;
  jwks_uri?: string;
  delivery_methods_supported?: string[];
  configuration_endpoint?: string;
  status_endpoint?: string;
  add_subject_endpoint?: string;
  remove_subject_endpoint?: string;
  verification_endpoint?: string;
  spec_version?: string;
  [member: string]: unknown;
}

/** A stream as the transmitter describes it (SSF 1.0 §"Stream Configuration"). */
export interface SsfStreamConfiguration {
  stream_id: string;
  iss: string;
  aud: string | string[];
  events_supported?: string[];
  events_requested?: string[];
  events_delivered?: string[];
  delivery: { method: string; endpoint_url?: string; authorization_header?: string };
  description?: string;
  [member: string]: unknown;
}

/** Options of {@link createSsfTransmitterClient}. */
export interface SsfTransmitterClientOptions {
  /** The transmitter's issuer; metadata must name exactly it. */
  issuer: string | URL;
  /** The `Authorization` header for management calls (scope `ssf.manage`), asked for per call. */
  authorization: () => string | Promise<string>;
  /** `fetch` for every call; default the global one. */
  fetch?: typeof fetch;
}

/** The receiver's side of the SSF management API; see {@link createSsfTransmitterClient}. */
export interface SsfTransmitterClient {
  /** Reads `/.well-known/ssf-configuration` (cached after the first success). */
  metadata(): Promise<SsfTransmitterMetadata>;
  /** Creates a stream (POST to `configuration_endpoint`, 201). */
  createStream(request: {
    delivery: {
      method: 'urn:ietf:rfc:8935' | 'urn:ietf:rfc:8936';
      endpoint_url?: string;
      authorization_header?: string;
    };
    events_requested: readonly string[];
    description?: string;
  }): Promise<SsfStreamConfiguration>;
  /** Asks for a verification event on the stream (POST to `verification_endpoint`, 204). */
  requestVerification(streamId: string, state?: string): Promise<void>;
}

/** Where SSF discovery looks: `/.well-known/ssf-configuration` inserted before the issuer's path (RFC 8615 style). */
export function ssfConfigurationUrl(issuer: string | URL): URL {
  const url = new URL(issuer);
  const path = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '');
  return new URL(`/.well-known/ssf-configuration${path}`, url.origin);
}

/**
 * Creates a client for an SSF transmitter: discovery, stream creation and verification requests.
 *
 * @throws {IdrelayError} `ERR_SSF_TRANSMITTER_UNAVAILABLE` (network, 5xx; retryable), `ERR_SSF_TRANSMITTER_REFUSED`
 * (4xx, metadata for another issuer, a missing endpoint, an answer that is not JSON).
 * @see https://openid.net/specs/openid-sharedsignals-framework-1_0.html (Transmitter Configuration Discovery,
 * Management API)
 * @example
 * ```ts
 * const tx = createSsfTransmitterClient({ issuer: 'https://tx.example.com', authorization: () => `Bearer ${token}` });
 * const stream = await tx.createStream({ delivery: { method: 'urn:ietf:rfc:8935', endpoint_url }, events_requested });
 * await tx.requestVerification(stream.stream_id, 'hello');
 * ```
 */
export function createSsfTransmitterClient(options: SsfTransmitterClientOptions): SsfTransmitterClient {
  const issuer = new URL(options.issuer).href.replace(/\/$/, '');
  const doFetch = options.fetch ?? fetch;
  let cached: Promise<SsfTransmitterMetadata> | undefined;

  async function call(url: string | URL, init: { method: string; body?: object; auth: boolean }): Promise<Response> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (init.body) headers['content-type'] = 'application/json';
    if (init.auth) headers.authorization = await options.authorization();
    let response: Response;
    try {
      response = await doFetch(url, {
        method: init.method,
        headers,
        ...(init.body ? { body: JSON.stringify(init.body) } : {}),
      });
    } catch (error) {
      throw new IdrelayError('ERR_SSF_TRANSMITTER_UNAVAILABLE', `${init.method} ${url} failed`, { cause: error });
    }
    if (response.ok) return response;
    await response.body?.cancel();
    const code = response.status >= 500 ? 'ERR_SSF_TRANSMITTER_UNAVAILABLE' : 'ERR_SSF_TRANSMITTER_REFUSED';
    throw new IdrelayError(code, `${init.method} ${url} answered ${response.status}`, {
      details: { status: response.status },
    });
  }

  async function json<T>(response: Response): Promise<T> {
    try {
      return (await response.json()) as T;
    } catch (error) {
      throw new IdrelayError('ERR_SSF_TRANSMITTER_REFUSED', 'The transmitter answered with something not JSON', {
        cause: error,
      });
    }
  }

  const metadata = () => {
    cached ??= (async () => {
      const found = await json<SsfTransmitterMetadata>(
        await call(ssfConfigurationUrl(issuer), { method: 'GET', auth: false }),
      );
      if (typeof found?.issuer !== 'string' || found.issuer.replace(/\/$/, '') !== issuer) {
        throw new IdrelayError('ERR_SSF_TRANSMITTER_REFUSED', `The metadata names issuer ${String(found?.issuer)}`);
      }
      return found;
    })().catch((error: unknown) => {
      cached = undefined;
      throw error;
    });
    return cached;
  };

  const endpoint = async (name: 'configuration_endpoint' | 'verification_endpoint') => {
    const value = (await metadata())[name];
    if (typeof value !== 'string') {
      throw new IdrelayError('ERR_SSF_TRANSMITTER_REFUSED', `The transmitter publishes no ${name}`);
    }
    return value;
  };

  return {
    metadata,
    async createStream(request) {
      const response = await call(await endpoint('configuration_endpoint'), {
        method: 'POST',
        body: request,
        auth: true,
      });
      const stream = await json<SsfStreamConfiguration>(response);
      if (typeof stream?.stream_id !== 'string') {
        throw new IdrelayError('ERR_SSF_TRANSMITTER_REFUSED', 'The created stream has no stream_id');
      }
      return stream;
    },
    async requestVerification(streamId, state) {
      const body = state === undefined ? { stream_id: streamId } : { stream_id: streamId, state };
      await call(await endpoint('verification_endpoint'), { method: 'POST', body, auth: true });
    },
  };
}
