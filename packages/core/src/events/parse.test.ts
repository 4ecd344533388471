import { describe, expect, expectTypeOf, it } from 'vitest';
import { envelope, VALID_DATA } from '../../test/samples.js';
import { IdrelayError } from '../errors/idrelay-error.js';
import type { IdentityEvent } from './envelope.js';
import { parseEvent, parseEventOfType, safeParseEvent } from './parse.js';

const locked = () => envelope('idrelay.account.locked', VALID_DATA['idrelay.account.locked']);

function issuesOf(input: unknown): Array<{ path: string; code: string }> {
  const result = safeParseEvent(input);
  if (result.success) throw new Error('expected failure');
  return result.error.details?.issues ?? [];
}

describe('parseEvent', () => {
  it('returns an event narrowed by type', () => {
    const event = parseEvent(locked());
    if (event.type === 'idrelay.account.locked') {
      expectTypeOf(event.data.reason).toEqualTypeOf<'failed-logins' | 'administrator' | 'risk' | 'policy' | 'other'>();
      expect(event.data.failedAttempts).toBe(5);
    } else {
      throw new Error('not narrowed');
    }
  });

  it('parses a JSON string body, and reports malformed JSON as ERR_EVENT_INVALID', () => {
    expect(parseEvent(JSON.stringify(locked())).id).toBe('evt-idrelay.account.locked');
    expect(() => parseEvent('{"specversion":')).toThrow(IdrelayError);
    expect(issuesOf('{')).toEqual([{ path: '', message: 'not valid JSON', code: 'invalid_json' }]);
  });

  it('lists every failing envelope path at once', () => {
    const bad = { ...locked(), specversion: '0.3', id: '', time: 'yesterday', source: 'has space' };
    const paths = issuesOf(bad).map((i) => i.path);
    expect(paths).toEqual(expect.arrayContaining(['specversion', 'id', 'time', 'source']));
  });

  it('lists envelope and data failures together', () => {
    const bad = { ...locked(), time: 'nope', data: { userId: 'u-1', reason: 'bored' } };
    expect(issuesOf(bad).map((i) => i.path)).toEqual(expect.arrayContaining(['time', 'data.reason']));
  });

  it('names an unknown type', () => {
    const issues = issuesOf(envelope('com.example.other', {}));
    expect(issues).toContainEqual(expect.objectContaining({ path: 'type', code: 'invalid_value' }));
  });

  it('rejects non-objects with a clear error', () => {
    for (const input of [null, 42, [], undefined]) {
      expect(() => parseEvent(input)).toThrow(expect.objectContaining({ code: 'ERR_EVENT_INVALID' }));
    }
  });

  it('requires time with an offset (RFC 3339)', () => {
    expect(issuesOf({ ...locked(), time: '2026-11-23T09:00:00' }).map((i) => i.path)).toContain('time');
    expect(parseEvent({ ...locked(), time: '2026-11-23T09:00:00.123+05:30' }).time).toBe(
      '2026-11-23T09:00:00.123+05:30',
    );
  });

  it('keeps extension attributes and rejects names CloudEvents forbids', () => {
    const event = parseEvent({ ...locked(), traceparent: '00-abc-def-01', tenant: 'acme' });
    expect(event).toMatchObject({ traceparent: '00-abc-def-01', tenant: 'acme' });
    expect(issuesOf({ ...locked(), 'Bad-Name': 1 }).map((i) => i.path)).toContain('Bad-Name');
    expect(issuesOf({ ...locked(), tenant_id: 'acme' }).map((i) => i.path)).toContain('tenant_id');
  });

  it('puts id and type into the error details for logs', () => {
    const result = safeParseEvent({ ...locked(), data: {} });
    expect(!result.success && result.error.details).toMatchObject({
      id: 'evt-idrelay.account.locked',
      type: 'idrelay.account.locked',
    });
  });

  it('parseEventOfType insists on the expected type', () => {
    const event = parseEventOfType('idrelay.account.locked', locked());
    expectTypeOf(event).toEqualTypeOf<IdentityEvent<'idrelay.account.locked'>>();
    expect(() => parseEventOfType('idrelay.user.created', locked())).toThrow(/expected "idrelay.user.created"/);
  });
});
