import { CloudEvent } from 'cloudevents';
import { describe, expect, it } from 'vitest';
import { isIdrelayError } from '../errors/idrelay-error.js';
import { createEvent } from './create.js';
import { eventKey } from './event-key.js';
import type { guardEventInput } from './guard-input.js';
import { parseEvent, safeParseEvent } from './parse.js';

const event = () =>
  createEvent('idrelay.account.locked', { userId: 'u-1', reason: 'failed-logins' }, { source: '/test', id: 'e-1' });

function nested(depth: number): unknown {
  let value: unknown = 'leaf';
  for (let i = 0; i < depth; i++) value = { inner: value };
  return value;
}

const issueCodes = (input: unknown, limits?: Parameters<typeof guardEventInput>[1]) => {
  const result = safeParseEvent(input, limits);
  expect(result.success).toBe(false);
  return result.success ? [] : result.error.details!.issues.map((i) => i.code);
};

describe('hostile input is ERR_EVENT_INVALID, never a RangeError or TypeError', () => {
  it('refuses nesting 10,000 levels deep in unknown fields, as an object and as text', () => {
    const deep = { ...event(), extra: nested(10_000) };
    expect(issueCodes(deep)).toEqual(['too_deep']);
    let text = '1';
    for (let i = 0; i < 10_000; i++) text = `[${text}]`;
    expect(issueCodes(`{"specversion":"1.0","deep":${text}}`)).toEqual(['too_deep']);
    expect(() => parseEvent(deep)).toThrow(expect.objectContaining({ code: 'ERR_EVENT_INVALID' }));
  });

  it('accepts the default depth of 32 and refuses 33', () => {
    const ok = { ...event(), data: { ...event().data, note: nested(29) } };
    expect(safeParseEvent(ok).success).toBe(true);
    expect(issueCodes({ ...event(), data: { ...event().data, note: nested(31) } })).toEqual(['too_deep']);
  });

  it('refuses a NUL character in any string or key, with its path', () => {
    const inData = { ...event(), data: { ...event().data, reason: 'failed\u0000logins' } };
    const result = safeParseEvent(inData);
    expect(result.success).toBe(false);
    if (!result.success)
      expect(result.error.details!.issues).toEqual([
        expect.objectContaining({ path: 'data.reason', code: 'invalid_character' }),
      ]);
    expect(issueCodes({ ...event(), 'x\u0000y': 1 })).toEqual(['invalid_character']);
    expect(issueCodes(JSON.stringify({ ...event(), id: 'a\u0000b' }))).toEqual(['invalid_character']);
  });

  it('refuses circular objects and throwing getters without throwing', () => {
    const circular: Record<string, unknown> = { ...event() };
    circular.self = circular;
    expect(issueCodes(circular)).toEqual(['circular']);
    const getter = { ...event() };
    Object.defineProperty(getter, 'data', {
      enumerable: true,
      get: () => {
        throw new TypeError('boom');
      },
    });
    expect(issueCodes(getter)).toEqual(['unreadable']);
    const proxy = new Proxy(
      {},
      {
        ownKeys: () => {
          throw new Error('no keys');
        },
      },
    );
    expect(issueCodes(proxy)).toEqual(['unreadable']);
    expect(issueCodes({ ...event(), big: 10n })).toEqual(['invalid_type']);
  });

  it('reads a getter once, so the schema and the store see the same value', () => {
    let reads = 0;
    const shifty = { ...event() };
    Object.defineProperty(shifty, 'id', { enumerable: true, get: () => (reads++ === 0 ? 'first' : 'second') });
    const parsed = parseEvent(shifty);
    expect(parsed.id).toBe('first');
    expect(reads).toBe(1);
  });

  it('reads an SDK CloudEvent (a frozen class instance) through its toJSON(), and names a toJSON() that throws', () => {
    const ours = event();
    const sdkEvent = new CloudEvent({ ...ours });
    expect(Object.isFrozen(sdkEvent)).toBe(true);
    expect(parseEvent(sdkEvent)).toEqual(ours);
    // Without validation the SDK keeps a time its own toJSON() cannot print.
    const broken = new CloudEvent({ ...event(), time: 'not a time' }, false);
    const result = safeParseEvent(broken);
    expect(!result.success && result.error.details?.issues).toEqual([
      expect.objectContaining({ path: '', code: 'unreadable', message: expect.stringMatching(/^toJSON\(\) failed/) }),
    ]);
  });

  it('refuses events over the size limit (256 KB by default) before parsing text', () => {
    const big = { ...event(), data: { ...event().data, note: 'x'.repeat(300_000) } };
    expect(issueCodes(big)).toEqual(['too_big']);
    expect(issueCodes(JSON.stringify(big))).toEqual(['too_big']);
    expect(safeParseEvent(big, { maxBytes: 1_000_000 }).success).toBe(true);
    expect(issueCodes(event(), { maxBytes: 100 })).toEqual(['too_big']);
  });

  it('keeps __proto__ keys as data', () => {
    const parsed = parseEvent(
      `{"specversion":"1.0","id":"e","source":"/s","type":"idrelay.account.locked","time":"2026-01-01T00:00:00Z","datacontenttype":"application/json","data":{"userId":"u","reason":"administrator","__proto__":{"polluted":true}}}`,
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(parsed.data)).toBe(Object.prototype);
  });

  it('never lets a hostile id or type into the error details', () => {
    const result = safeParseEvent({ id: 'a\u0000b', type: 'x'.repeat(600) });
    expect(result.success).toBe(false);
    if (!result.success) expect(result.error.details).not.toHaveProperty('id');
    expect(
      isIdrelayError(
        parseThrown({
          get id() {
            throw new Error('x');
          },
        }),
        'ERR_EVENT_INVALID',
      ),
    ).toBe(true);
  });
});

function parseThrown(input: unknown): unknown {
  try {
    parseEvent(input);
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('eventKey', () => {
  it('keeps sources with a # apart from ids with one', () => {
    expect(eventKey({ source: '/a#b', id: 'c' })).not.toBe(eventKey({ source: '/a', id: 'b#c' }));
    expect(eventKey({ source: '/a%23b', id: 'c' })).not.toBe(eventKey({ source: '/a#b', id: 'c' }));
    expect(eventKey({ source: 'https://iam.example.com', id: 'e-1' })).toBe('https://iam.example.com#e-1');
  });
});
