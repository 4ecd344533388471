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

/** A stream's status (SSF 1.0 §"Stream Status"): `paused` streams hold events, `disabled` ones drop them. */
export type SsfStreamStatusValue = 'enabled' | 'paused' | 'disabled';

/** The answer of the status endpoint. */
export interface SsfStreamStatus {
  stream_id: string;
  status: SsfStreamStatusValue;
  reason?: string;
}

/** A subject identifier (RFC 9493), e.g. `{ format: 'email', email: 'alice@example.com' }`. */
export interface SsfSubject {
  format: string;
  [member: string]: unknown;
}

/** The receiver-supplied members of a stream, as sent on creation, update (PATCH) and replacement (PUT). */
export interface SsfStreamRequest {
  delivery: {
    method: 'urn:ietf:rfc:8935' | 'urn:ietf:rfc:8936';
    endpoint_url?: string;
    authorization_header?: string;
  };
  events_requested: readonly string[];
  description?: string;
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
  createStream(request: SsfStreamRequest): Promise<SsfStreamConfiguration>;
  /** Reads one stream (GET `configuration_endpoint?stream_id=`); a 404 is `ERR_SSF_TRANSMITTER_REFUSED`. */
  getStream(streamId: string): Promise<SsfStreamConfiguration>;
  /** Every stream this receiver owns at the transmitter (GET `configuration_endpoint` without `stream_id`). */
  listStreams(): Promise<SsfStreamConfiguration[]>;
  /** Changes the given receiver-supplied members (PATCH); resolves with the whole configuration. */
  updateStream(streamId: string, changes: Partial<SsfStreamRequest>): Promise<SsfStreamConfiguration>;
  /** Replaces every receiver-supplied member (PUT); members left out return to the transmitter's defaults. */
  replaceStream(streamId: string, request: SsfStreamRequest): Promise<SsfStreamConfiguration>;
  /** Deletes the stream (DELETE `configuration_endpoint?stream_id=`, 204): the transmitter stops sending. */
  deleteStream(streamId: string): Promise<void>;
  /** Reads the stream's status (GET `status_endpoint?stream_id=`). */
  getStatus(streamId: string): Promise<SsfStreamStatus>;
  /** Sets the stream's status (POST `status_endpoint`), with an optional reason for the transmitter's logs. */
  updateStatus(streamId: string, status: SsfStreamStatusValue, reason?: string): Promise<SsfStreamStatus>;
  /** Adds a subject to the stream (POST `add_subject_endpoint`); `verified` as the SSF spec defines it. */
  addSubject(streamId: string, subject: SsfSubject, options?: { verified?: boolean }): Promise<void>;
  /** Removes a subject from the stream (POST `remove_subject_endpoint`, 204). */
  removeSubject(streamId: string, subject: SsfSubject): Promise<void>;
  /** Asks for a verification event on the stream (POST to `verification_endpoint`, 204). */
  requestVerification(streamId: string, state?: string): Promise<void>;
}

const STATUSES: readonly string[] = ['enabled', 'paused', 'disabled'];

function checkStreamId(streamId: unknown): string {
  if (typeof streamId !== 'string' || streamId.length === 0) {
    throw new TypeError(`streamId must be a non-empty string, got ${String(streamId)}`);
  }
  return streamId;
}

function checkSubject(subject: SsfSubject): SsfSubject {
  if (typeof subject !== 'object' || subject === null || typeof subject.format !== 'string') {
    throw new TypeError('subject must be an RFC 9493 subject identifier with a format');
  }
  return subject;
}

/** Where SSF discovery looks: `/.well-known/ssf-configuration` inserted before the issuer's path (RFC 8615 style). */
export function ssfConfigurationUrl(issuer: string | URL): URL {
  const url = new URL(issuer);
  const path = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '');
  return new URL(`/.well-known/ssf-configuration${path}`, url.origin);
}

/**
 * Creates a client for an SSF transmitter: discovery, the stream management API (create, read, list, update,
 * replace, delete), stream status, subjects, and verification requests.
 *
 * @throws {IdrelayError} `ERR_SSF_TRANSMITTER_UNAVAILABLE` (network, 5xx; retryable), `ERR_SSF_TRANSMITTER_REFUSED`
 * (4xx but 429, metadata for another issuer, a missing endpoint, an answer that is not JSON or not a stream).
 * `TypeError` for an empty stream id, an unknown status or a subject without `format`.
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
    // 429 asks us to come back later, like a 5xx.
    const retry = response.status >= 500 || response.status === 429;
    const code = retry ? 'ERR_SSF_TRANSMITTER_UNAVAILABLE' : 'ERR_SSF_TRANSMITTER_REFUSED';
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

  type EndpointName =
    | 'configuration_endpoint'
    | 'verification_endpoint'
    | 'status_endpoint'
    | 'add_subject_endpoint'
    | 'remove_subject_endpoint';
  const endpoint = async (name: EndpointName, streamId?: string) => {
    const value = (await metadata())[name];
    if (typeof value !== 'string') {
      throw new IdrelayError('ERR_SSF_TRANSMITTER_REFUSED', `The transmitter publishes no ${name}`);
    }
    if (streamId === undefined) return value;
    const url = new URL(value);
    url.searchParams.set('stream_id', streamId);
    return url;
  };

  const stream = async (response: Response) => {
    const found = await json<SsfStreamConfiguration>(response);
    if (typeof found?.stream_id !== 'string') {
      throw new IdrelayError('ERR_SSF_TRANSMITTER_REFUSED', 'The transmitter answered with a stream without stream_id');
    }
    return found;
  };

  const status = async (response: Response, streamId: string) => {
    const found = await json<SsfStreamStatus>(response);
    if (found?.stream_id !== streamId || !STATUSES.includes(found.status)) {
      throw new IdrelayError('ERR_SSF_TRANSMITTER_REFUSED', `The transmitter answered with an unusable status`);
    }
    return found;
  };

  return {
    metadata,
    async createStream(request) {
      const response = await call(await endpoint('configuration_endpoint'), {
        method: 'POST',
        body: request,
        auth: true,
      });
      return stream(response);
    },
    async getStream(streamId) {
      const url = await endpoint('configuration_endpoint', checkStreamId(streamId));
      return stream(await call(url, { method: 'GET', auth: true }));
    },
    async listStreams() {
      const found = await json<unknown>(
        await call(await endpoint('configuration_endpoint'), { method: 'GET', auth: true }),
      );
      // SSF 1.0: an array of streams; a transmitter with one stream per receiver may answer with the object.
      const list = Array.isArray(found) ? found : [found];
      if (list.some((item) => typeof (item as SsfStreamConfiguration)?.stream_id !== 'string')) {
        throw new IdrelayError('ERR_SSF_TRANSMITTER_REFUSED', 'The transmitter listed a stream without stream_id');
      }
      return list as SsfStreamConfiguration[];
    },
    async updateStream(streamId, changes) {
      const body = { ...changes, stream_id: checkStreamId(streamId) };
      return stream(await call(await endpoint('configuration_endpoint'), { method: 'PATCH', body, auth: true }));
    },
    async replaceStream(streamId, request) {
      const body = { ...request, stream_id: checkStreamId(streamId) };
      return stream(await call(await endpoint('configuration_endpoint'), { method: 'PUT', body, auth: true }));
    },
    async deleteStream(streamId) {
      const url = await endpoint('configuration_endpoint', checkStreamId(streamId));
      const response = await call(url, { method: 'DELETE', auth: true });
      await response.body?.cancel();
    },
    async getStatus(streamId) {
      const url = await endpoint('status_endpoint', checkStreamId(streamId));
      return status(await call(url, { method: 'GET', auth: true }), streamId);
    },
    async updateStatus(streamId, value, reason) {
      if (!STATUSES.includes(value)) throw new TypeError(`status must be enabled, paused or disabled, got ${value}`);
      const body = { stream_id: checkStreamId(streamId), status: value, ...(reason === undefined ? {} : { reason }) };
      return status(await call(await endpoint('status_endpoint'), { method: 'POST', body, auth: true }), streamId);
    },
    async addSubject(streamId, subject, opts = {}) {
      const body = {
        stream_id: checkStreamId(streamId),
        subject: checkSubject(subject),
        ...(opts.verified === undefined ? {} : { verified: opts.verified }),
      };
      const response = await call(await endpoint('add_subject_endpoint'), { method: 'POST', body, auth: true });
      await response.body?.cancel();
    },
    async removeSubject(streamId, subject) {
      const body = { stream_id: checkStreamId(streamId), subject: checkSubject(subject) };
      const response = await call(await endpoint('remove_subject_endpoint'), { method: 'POST', body, auth: true });
      await response.body?.cancel();
    },
    async requestVerification(streamId, state) {
      const body = state === undefined ? { stream_id: checkStreamId(streamId) } : { stream_id: streamId, state };
      const response = await call(await endpoint('verification_endpoint'), { method: 'POST', body, auth: true });
      await response.body?.cancel();
    },
  };
}
