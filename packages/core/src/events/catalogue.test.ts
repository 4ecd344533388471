import { describe, expect, it } from 'vitest';
import { envelope, VALID_DATA } from '../../test/samples.js';
import { isIdrelayError } from '../errors/idrelay-error.js';
import { EVENT_CATALOGUE, EVENT_TYPES, isEventType } from './catalogue/index.js';
import { parseEvent, safeParseEvent } from './parse.js';

describe('the event catalogue', () => {
  it('holds every type of the ARCHITECTURE catalogue, namespaced idrelay.<area>.<verb>', () => {
    const expected = [
      'access.requested',
      'access.approved',
      'access.denied',
      'access.expired',
      'access.reminder',
      'auth.verification.requested',
      'auth.verification.approved',
      'auth.verification.denied',
      'auth.risk.detected',
      'privilege.assigned',
      'privilege.elevated',
      'privilege.used',
      'privilege.revoked',
      'account.locked',
      'account.disabled',
      'account.enabled',
      'account.password.reset-required',
      'account.password.expiring',
      'user.created',
      'user.activated',
      'user.updated',
      'user.deactivated',
      'user.deleted',
      'group.member.added',
      'group.member.removed',
      'group.bulk-changed',
      'policy.action-required',
      'policy.changed',
      'onboarding.step',
      'workflow.failed',
      'workflow.stalled',
      'provisioning.failed',
      'sync.failed',
      'announcement.published',
      'notification.delivered',
      'notification.acknowledged',
      'notification.opened',
      'preference.changed',
      'exstream.template.opened',
      'exstream.template.edited',
      'exstream.content.submitted',
      'exstream.content.approved',
      'exstream.content.rejected',
      'exstream.production.triggered',
      'exstream.access.granted',
      'exstream.access.revoked',
    ].map((t) => `idrelay.${t}`);
    for (const type of expected) expect(isEventType(type), type).toBe(true);
    for (const type of EVENT_TYPES) expect(type).toMatch(/^idrelay\.[a-z]+(\.[a-z-]+)+$/);
  });

  it.each(EVENT_TYPES)('%s accepts its valid sample and keeps the data', (type) => {
    const event = parseEvent(envelope(type, VALID_DATA[type]));
    expect(event.type).toBe(type);
    expect(event.data).toEqual(VALID_DATA[type]);
  });

  it.each(EVENT_TYPES)('%s rejects empty data, naming each missing field under data.', (type) => {
    const result = safeParseEvent(envelope(type, {}));
    expect(result.success).toBe(false);
    if (result.success) return;
    expect(result.error.code).toBe('ERR_EVENT_INVALID');
    const paths = result.error.details?.issues.map((issue) => issue.path) ?? [];
    expect(paths.length).toBeGreaterThan(0);
    for (const path of paths) expect(path).toMatch(/^data\.[A-Za-z]+/);
    expect(result.error.details?.type).toBe(type);
  });

  it.each(EVENT_TYPES)('%s rejects a wrongly typed field with its path', (type) => {
    const sample = VALID_DATA[type] as Record<string, unknown>;
    const [field] = Object.keys(EVENT_CATALOGUE[type].data.shape ?? sample);
    const broken = { ...sample, [field!]: 12345 };
    const result = safeParseEvent(envelope(type, broken));
    expect(result.success).toBe(false);
    if (!result.success) expect(result.error.details?.issues.map((i) => i.path)).toContain(`data.${field}`);
  });

  it('keeps unknown fields inside data (producers may send more than we type)', () => {
    const event = parseEvent(envelope('idrelay.account.locked', { userId: 'u-1', reason: 'policy', ticket: 'INC-1' }));
    expect(event.data).toMatchObject({ ticket: 'INC-1' });
  });

  it('applies the semantic checks a schema alone would miss', () => {
    const step = { flowId: 'f', userId: 'u', step: { id: 's', title: 'T', index: 4, total: 4 } };
    expect(() => parseEvent(envelope('idrelay.onboarding.step', step))).toThrow(/step.index/);
    const code = { ...VALID_DATA['idrelay.auth.verification.requested'], numberMatch: { code: '4' } };
    const result = safeParseEvent(envelope('idrelay.auth.verification.requested', code));
    expect(!result.success && result.error.details?.issues[0]?.path).toBe('data.numberMatch.code');
    const audience = { ...VALID_DATA['idrelay.announcement.published'], audience: { kind: 'group' } };
    const error = (() => {
      try {
        parseEvent(envelope('idrelay.announcement.published', audience));
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(isIdrelayError(error, 'ERR_EVENT_INVALID')).toBe(true);
    expect((error as Error).message).toMatch(/data\.audience\.groupId/);
  });
});
