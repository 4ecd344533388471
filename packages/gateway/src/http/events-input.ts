import { httpError } from './http-errors.js';
import { isJsonType, mediaType, parseJson } from './read-body.js';

/** Most events in one batch. */
export const MAX_BATCH = 1000;

/** Structured and batched CloudEvents media types (CloudEvents JSON format §3 and §4). */
export const EVENT_MEDIA_TYPES = [
  'application/cloudevents+json',
  'application/cloudevents-batch+json',
  'application/json',
] as const;

/** What `POST /v1/events` received: the raw events and whether they came as a batch. */
export interface EventsInput {
  events: unknown[];
  batch: boolean;
  mode: 'structured' | 'batch' | 'binary';
}

// CloudEvents HTTP binding §3.1.3.1: these attributes travel in `ce-` headers; `datacontenttype` is Content-Type.
const RESERVED = new Set(['data', 'data_base64', 'datacontenttype']);

function headerValue(value: string): string {
  // HTTP binding §3.1.3.2: values are percent-encoded where needed.
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/**
 * Turns a `POST /v1/events` request into events, by CloudEvents HTTP protocol binding mode: binary (`ce-*`
 * headers, the body is `data`), structured (`application/cloudevents+json`), batched
 * (`application/cloudevents-batch+json`), or plain `application/json` (an object or an array).
 *
 * @throws {IdrelayError} `ERR_HTTP_UNSUPPORTED_MEDIA_TYPE`, `ERR_HTTP_MALFORMED_JSON`, `ERR_HTTP_INVALID_REQUEST`
 *   (a batch that is not an array, empty or longer than {@link MAX_BATCH}).
 */
export function readEvents(headers: Headers, body: Uint8Array): EventsInput {
  const type = mediaType(headers);
  if (headers.has('ce-specversion')) {
    if (!isJsonType(type)) {
      throw httpError(
        'ERR_HTTP_UNSUPPORTED_MEDIA_TYPE',
        `Binary-mode events carry JSON data; Content-Type ${type || 'none'} is not JSON`,
      );
    }
    const event: Record<string, unknown> = {};
    headers.forEach((value, name) => {
      const key = name.toLowerCase();
      if (!key.startsWith('ce-')) return;
      const attribute = key.slice(3);
      if (!RESERVED.has(attribute)) event[attribute] = headerValue(value);
    });
    event.datacontenttype = headers.get('content-type');
    if (body.byteLength > 0) event.data = parseJson(body);
    return { events: [event], batch: false, mode: 'binary' };
  }
  if (!(EVENT_MEDIA_TYPES as readonly string[]).includes(type)) {
    throw httpError(
      'ERR_HTTP_UNSUPPORTED_MEDIA_TYPE',
      `Expected ${EVENT_MEDIA_TYPES.join(', ')} or binary mode (ce-* headers); got ${type || 'none'}`,
    );
  }
  const parsed = parseJson(body);
  if (type === 'application/cloudevents-batch+json' && !Array.isArray(parsed)) {
    throw httpError('ERR_HTTP_INVALID_REQUEST', 'A CloudEvents batch is a JSON array of events');
  }
  if (type === 'application/cloudevents+json' && Array.isArray(parsed)) {
    throw httpError(
      'ERR_HTTP_INVALID_REQUEST',
      'application/cloudevents+json carries one event; send arrays as application/cloudevents-batch+json',
    );
  }
  if (!Array.isArray(parsed)) return { events: [parsed], batch: false, mode: 'structured' };
  if (parsed.length === 0 || parsed.length > MAX_BATCH) {
    throw httpError(
      'ERR_HTTP_INVALID_REQUEST',
      `A batch holds 1 to ${MAX_BATCH} events; this one has ${parsed.length}`,
    );
  }
  return { events: parsed, batch: true, mode: 'batch' };
}
