/**
 * Round trips through the official CloudEvents SDK (`cloudevents` v10) for every type in the catalogue: structured
 * and binary content mode of the HTTP binding, in both directions, and binary mode over a real HTTP connection.
 * What a producer or consumer using the SDK sends or receives must be the same event for us, subject included.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isDeepStrictEqual } from 'node:util';
import { CloudEvent, HTTP } from 'cloudevents';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVENT_TYPES, type EventType } from '../src/events/catalogue/index.js';
import { createEvent, serializeEvent } from '../src/events/create.js';
import type { IdentityEvent } from '../src/events/envelope.js';
import { parseEvent, safeParseEvent } from '../src/events/parse.js';
import { eventSubject } from '../src/events/subject-attribute.js';
import type { SubjectIdentifier } from '../src/subjects/subject-identifier.js';
import { VALID_DATA } from './samples.js';

const SUBJECTS: SubjectIdentifier[] = [
  { format: 'email', email: 'łukasz.zoë@例え.example' },
  { format: 'iss_sub', iss: 'https://idp.example.com', sub: '248289761001' },
  { format: 'phone_number', phone_number: '+12065550100' },
  { format: 'opaque', id: 'u-1' },
  { format: 'account', uri: 'acct:alice@example.com' },
  { format: 'did', url: 'did:example:123' },
  { format: 'uri', uri: 'https://example.com/users/1' },
  {
    format: 'aliases',
    identifiers: [
      { format: 'email', email: 'alice@example.com' },
      { format: 'iss_sub', iss: 'https://idp.example.com', sub: 'a-1' },
    ],
  },
];

/** One valid event per catalogue type, as `createEvent` writes it, with a subject, a dataschema and an extension. */
function example(type: EventType, index: number): { event: IdentityEvent; subject: SubjectIdentifier } {
  const subject = SUBJECTS[index % SUBJECTS.length]!;
  const event = createEvent(type, VALID_DATA[type] as never, {
    source: 'https://iam.example.com/workflows',
    id: `evt-${index}`,
    now: () => new Date(Date.UTC(2026, 10, 23, 9, 0, index)),
    subject: `ref-${index}`,
    idrelaysubject: subject,
    extensions: { dataschema: `https://idrelay.dev/schemas/events/${type}.json`, tenant: 'acme' },
  });
  return { event, subject };
}

const EXAMPLES = EVENT_TYPES.map((type, index) => ({ type, ...example(type, index) }));
const N = EXAMPLES.length;

/** The official SDK's CloudEvent of the same attributes (it validates them on construction). */
const sdkEvent = (event: Record<string, unknown>): CloudEvent<unknown> => new CloudEvent<unknown>({ ...event });

/** A CloudEvent as plain attributes, without the ones the SDK holds as `undefined`. */
function attributes(event: CloudEvent<unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(event.toJSON()).filter(([, value]) => value !== undefined));
}

/** The types whose round trip `check` does not survive, with the reason. */
function failing(check: (example: (typeof EXAMPLES)[number]) => void): string[] {
  const failures: string[] = [];
  for (const example of EXAMPLES) {
    try {
      check(example);
    } catch (error) {
      failures.push(`${example.type}: ${(error as Error).message.split('\n')[0]}`);
    }
  }
  return failures;
}

describe('structured content mode with the official SDK', () => {
  const sdkToOurs = ({ event }: (typeof EXAMPLES)[number]) => {
    const message = HTTP.structured(sdkEvent(event));
    expect(message.headers['content-type']).toMatch(/^application\/cloudevents\+json/);
    expect(parseEvent(message.body)).toEqual(event);
  };
  const oursToSdk = ({ event }: (typeof EXAMPLES)[number]) => {
    const body = serializeEvent(event);
    const received = HTTP.toEvent({ headers: { 'content-type': 'application/cloudevents+json; charset=utf-8' }, body });
    const sdkEvent = received as CloudEvent<unknown>;
    expect(sdkEvent.validate()).toBe(true);
    expect(attributes(sdkEvent)).toEqual(event);
  };

  it(`${N} of ${N} types: HTTP.structured(new CloudEvent(…)) parses to the same event`, () => {
    expect(failing(sdkToOurs)).toEqual([]);
  });

  it(`${N} of ${N} types: our JSON is read by HTTP.toEvent as the same, valid CloudEvent`, () => {
    expect(failing(oursToSdk)).toEqual([]);
  });
});

describe('binary content mode with the official SDK', () => {
  const binary = ({ event, subject }: (typeof EXAMPLES)[number]) => {
    const message = HTTP.binary(sdkEvent(event));
    expect(message.headers['ce-idrelaysubject']).toBe(event.idrelaysubject);
    const received = HTTP.toEvent({ headers: message.headers, body: message.body }) as CloudEvent<unknown>;
    const parsed = parseEvent(received);
    expect(parsed).toEqual(event);
    expect(eventSubject(parsed)).toEqual(subject);
  };

  it(`${N} of ${N} types round-trip in binary mode: HTTP.binary → headers + body → HTTP.toEvent → parseEvent, subject included`, () => {
    expect(failing(binary)).toEqual([]);
  });

  it('puts only header-safe text in headers, so a non-ASCII subject crosses HTTP unchanged', () => {
    const { event } = EXAMPLES[0]!;
    expect(eventSubject(event)).toEqual({ format: 'email', email: 'łukasz.zoë@例え.example' });
    for (const [name, value] of Object.entries(HTTP.binary(sdkEvent(event)).headers)) {
      expect(String(value), name).toMatch(/^[\x20-\x7e]*$/);
    }
  });

  it('keeps content-type parameters the SDK adds to an event that had no datacontenttype', () => {
    const { datacontenttype: _, ...bare } = EXAMPLES[1]!.event;
    const message = HTTP.binary(sdkEvent(bare));
    const parsed = parseEvent(HTTP.toEvent({ headers: message.headers, body: message.body }));
    expect(parsed.datacontenttype).toBe('application/json; charset=utf-8');
    expect(parsed.data).toEqual(bare.data);
  });

  describe('over a real HTTP connection', () => {
    let server: Server;
    let url: string;
    const received: Array<{ headers: IncomingHttpHeaders; body: string }> = [];
    beforeAll(async () => {
      server = createServer((request, response) => {
        let body = '';
        request.setEncoding('utf8');
        request.on('data', (chunk: string) => {
          body += chunk;
        });
        request.on('end', () => {
          received.push({ headers: request.headers, body });
          response.writeHead(204).end();
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`;
    });
    afterAll(async () => {
      await new Promise((resolve) => server.close(resolve));
    });

    it(`${N} of ${N} types arrive as the same event, subject included`, async () => {
      received.length = 0;
      for (const { event } of EXAMPLES) {
        const message = HTTP.binary(sdkEvent(event));
        const headers = Object.fromEntries(Object.entries(message.headers).map(([k, v]) => [k, String(v)]));
        const response = await fetch(url, { method: 'POST', headers, body: message.body as string });
        expect(response.status).toBe(204);
      }
      const failures: string[] = [];
      received.forEach(({ headers, body }, index) => {
        const { type, event, subject } = EXAMPLES[index]!;
        const result = safeParseEvent(HTTP.toEvent({ headers, body }));
        if (!result.success) failures.push(`${type}: ${result.error.message}`);
        else if (!isDeepStrictEqual(eventSubject(result.event), subject)) failures.push(`${type}: subject`);
        else if (!isDeepStrictEqual(result.event, event)) failures.push(`${type}: event`);
      });
      expect(received).toHaveLength(N);
      expect(failures).toEqual([]);
    });
  });
});
