import { SSF_EVENT_TYPES } from '../src/index.js';
import { AUDIENCE, type createTestTransmitter, ISSUER } from './transmitter.js';

type Signer = Awaited<ReturnType<typeof createTestTransmitter>>;
type Receiver = (request: Request) => Promise<Response>;

interface Stream {
  stream_id: string;
  iss: string;
  aud: string;
  events_supported: string[];
  events_requested: string[];
  events_delivered: string[];
  delivery: { method: string; endpoint_url?: string; authorization_header?: string };
  description?: string;
  status: 'enabled' | 'paused' | 'disabled';
  reason?: string;
  subjects: Set<string>;
  held: string[];
}

const SUPPORTED: string[] = [
  SSF_EVENT_TYPES.caepSessionRevoked,
  SSF_EVENT_TYPES.caepCredentialChange,
  SSF_EVENT_TYPES.riscAccountDisabled,
  SSF_EVENT_TYPES.riscAccountEnabled,
];
const RECEIVER_MEMBERS = ['delivery', 'events_requested', 'description'];
const READ_ONLY = ['iss', 'aud', 'events_supported', 'events_delivered', 'min_verification_interval'];

/**
 * A test SSF transmitter (SSF 1.0 with `default_subjects: NONE`): discovery, the stream management API, stream
 * status, subjects and verification as a `fetch`, plus `emit()` which signs a SET and pushes it (RFC 8935) to every
 * stream that should get it: enabled, the subject added and the event type delivered. A paused stream holds SETs
 * until enabled again; a disabled one drops them.
 */
export function createTransmitterApi(signer: Signer, receiver: Receiver, token = 'Bearer manage') {
  const streams = new Map<string, Stream>();
  const pushes: number[] = [];
  let next = 1;

  const view = (s: Stream) => {
    const { status: _status, reason: _reason, subjects: _subjects, held: _held, ...config } = s;
    return config;
  };
  const error = (status: number, description: string) => Response.json({ description }, { status });
  const key = (subject: unknown) => JSON.stringify(subject, Object.keys((subject ?? {}) as object).sort());

  async function push(stream: Stream, set: string) {
    if (stream.status === 'paused') return void stream.held.push(set);
    const response = await receiver(
      new Request(stream.delivery.endpoint_url ?? AUDIENCE, {
        method: 'POST',
        headers: {
          'content-type': 'application/secevent+jwt',
          authorization: stream.delivery.authorization_header ?? '',
        },
        body: set,
      }),
    );
    pushes.push(response.status);
  }

  function receiverMembers(body: Record<string, unknown>): string | undefined {
    if (READ_ONLY.some((name) => name in body)) return 'transmitter-supplied members cannot be set';
    const delivery = body.delivery as Stream['delivery'] | undefined;
    if (delivery !== undefined && typeof delivery?.method !== 'string') return 'delivery.method is required';
    if (body.events_requested !== undefined && !Array.isArray(body.events_requested)) return 'bad events_requested';
    return undefined;
  }

  function apply(stream: Stream, body: Record<string, unknown>, replace: boolean) {
    if (replace) delete stream.description;
    for (const name of RECEIVER_MEMBERS) if (name in body) Object.assign(stream, { [name]: body[name] });
    stream.events_delivered = stream.events_requested.filter((type) => SUPPORTED.includes(type));
  }

  const api: typeof fetch = async (input, init) => {
    const request = new Request(input, init);
    const url = new URL(request.url);
    if (url.pathname === '/.well-known/ssf-configuration') {
      return Response.json({
        issuer: ISSUER,
        jwks_uri: `${ISSUER}/jwks`,
        delivery_methods_supported: ['urn:ietf:rfc:8935'],
        configuration_endpoint: `${ISSUER}/ssf/stream`,
        status_endpoint: `${ISSUER}/ssf/status`,
        add_subject_endpoint: `${ISSUER}/ssf/subjects:add`,
        remove_subject_endpoint: `${ISSUER}/ssf/subjects:remove`,
        verification_endpoint: `${ISSUER}/ssf/verify`,
        default_subjects: 'NONE',
        spec_version: '1_0',
      });
    }
    if (request.headers.get('authorization') !== token) return error(401, 'bad token');
    const body = ['POST', 'PATCH', 'PUT'].includes(request.method)
      ? ((await request.json()) as Record<string, unknown>)
      : {};
    const id = (url.searchParams.get('stream_id') ?? body.stream_id) as string | undefined;
    const stream = id === undefined ? undefined : streams.get(id);

    if (url.pathname === '/ssf/stream') {
      if (request.method === 'POST') {
        const problem = receiverMembers(body);
        if (problem || body.delivery === undefined) return error(400, problem ?? 'delivery is required');
        const created: Stream = {
          stream_id: `stream-${next++}`,
          iss: ISSUER,
          aud: AUDIENCE,
          events_supported: SUPPORTED,
          events_requested: [],
          events_delivered: [],
          delivery: { method: '' },
          status: 'enabled',
          subjects: new Set(),
          held: [],
        };
        apply(created, body, false);
        streams.set(created.stream_id, created);
        return Response.json(view(created), { status: 201 });
      }
      if (request.method === 'GET' && id === undefined) return Response.json([...streams.values()].map(view));
      if (!stream) return error(404, 'no such stream');
      if (request.method === 'GET') return Response.json(view(stream));
      if (request.method === 'DELETE') {
        streams.delete(stream.stream_id);
        return new Response(null, { status: 204 });
      }
      const { stream_id: _id, ...members } = body;
      const problem = receiverMembers(members);
      if (problem) return error(400, problem);
      if (request.method === 'PUT' && (members.delivery === undefined || members.events_requested === undefined)) {
        return error(400, 'a replacement names every receiver-supplied member');
      }
      if (request.method === 'PATCH' || request.method === 'PUT') {
        apply(stream, members, request.method === 'PUT');
        return Response.json(view(stream));
      }
    }
    if (!stream) return error(404, 'no such stream');
    if (url.pathname === '/ssf/status' && request.method === 'GET') {
      return Response.json({ stream_id: stream.stream_id, status: stream.status, reason: stream.reason });
    }
    if (url.pathname === '/ssf/status' && request.method === 'POST') {
      if (!['enabled', 'paused', 'disabled'].includes(body.status as string)) return error(400, 'bad status');
      stream.status = body.status as Stream['status'];
      stream.reason = body.reason as string | undefined;
      if (stream.status === 'disabled') stream.held = [];
      if (stream.status === 'enabled') for (const set of stream.held.splice(0)) await push(stream, set);
      return Response.json({ stream_id: stream.stream_id, status: stream.status, reason: stream.reason });
    }
    if (url.pathname === '/ssf/subjects:add' || url.pathname === '/ssf/subjects:remove') {
      const subject = body.subject as { format?: unknown } | undefined;
      if (typeof subject?.format !== 'string') return error(400, 'subject must be a subject identifier');
      if (url.pathname.endsWith('add')) {
        stream.subjects.add(key(subject));
        return new Response(null, { status: 200 });
      }
      if (!stream.subjects.delete(key(subject))) return error(404, 'subject not in the stream');
      return new Response(null, { status: 204 });
    }
    if (url.pathname === '/ssf/verify') {
      const set = await signer.sign(
        { [SSF_EVENT_TYPES.ssfVerification]: { state: body.state } },
        { sub_id: { format: 'opaque', id: stream.stream_id } },
      );
      await push(stream, set);
      return new Response(null, { status: 204 });
    }
    return error(404, 'no such endpoint');
  };

  /** Signs one event about `subject` and delivers it to every stream that should get it; resolves when pushed. */
  async function emit(subject: Record<string, unknown>, type: string, payload: Record<string, unknown> = {}) {
    for (const stream of streams.values()) {
      if (stream.status === 'disabled' || !stream.subjects.has(key(subject))) continue;
      if (!stream.events_delivered.includes(type)) continue;
      await push(stream, await signer.sign({ [type]: payload }, { sub_id: subject }));
    }
  }

  return { api, emit, pushes, streams };
}
