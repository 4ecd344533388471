import { eventSubject } from '@idrelay/core/events';
import { describe, expect, it } from 'vitest';
import { SSF_EVENT_TYPES as T } from './event-types.js';
import { mapSet } from './map-set.js';
import type { SetClaims } from './verify-set.js';

const ISS = 'https://tx.example.test';
const IAT = Date.UTC(2026, 11, 3, 9, 0, 0) / 1000;

function claims(type: string, payload: Record<string, unknown> = {}, extra: Partial<SetClaims> = {}): SetClaims {
  return {
    iss: ISS,
    jti: 'jti-1',
    iat: IAT,
    sub_id: { format: 'iss_sub', iss: 'https://idp.example.test', sub: 'u-42' },
    events: { [type]: payload },
    ...extra,
  };
}

describe('mapSet: the README mapping table', () => {
  it.each([
    [T.riscAccountDisabled, { reason: 'bulk-account' }, 'idrelay.account.disabled', { reason: 'bulk-account' }],
    [T.riscAccountEnabled, {}, 'idrelay.account.enabled', {}],
    [T.riscAccountPurged, {}, 'idrelay.user.deleted', {}],
    [T.riscAccountCredentialChangeRequired, {}, 'idrelay.account.password.reset-required', {}],
    [
      T.riscCredentialCompromise,
      { credential_type: 'password' },
      'idrelay.auth.risk.detected',
      { level: 'high', reasons: ['credential-compromise'], causedBy: 'jti-1' },
    ],
    [
      T.caepSessionRevoked,
      {},
      'idrelay.auth.risk.detected',
      { level: 'medium', reasons: ['session-revoked'], causedBy: 'jti-1' },
    ],
    [
      T.riscSessionsRevoked,
      {},
      'idrelay.auth.risk.detected',
      { level: 'medium', reasons: ['session-revoked'], causedBy: 'jti-1' },
    ],
    [
      T.caepRiskLevelChange,
      { current_level: 'HIGH', previous_level: 'LOW', risk_reason: 'PASSWORD_FOUND_IN_DATA_BREACH' },
      'idrelay.auth.risk.detected',
      { level: 'high', reasons: ['other'], causedBy: 'jti-1' },
    ],
    [
      T.caepCredentialChange,
      { credential_type: 'fido2-roaming', change_type: 'create' },
      'idrelay.user.updated',
      { changes: [{ attribute: 'credential.fido2-roaming', newValue: 'create' }] },
    ],
    [
      T.riscIdentifierChanged,
      { 'new-value': 'alice@new.example' },
      'idrelay.user.updated',
      { changes: [{ attribute: 'identifier', newValue: 'alice@new.example' }] },
    ],
  ])('%s → %s', (type, payload, eventType, data) => {
    const signal = mapSet(claims(type, payload));
    expect(signal.mapping).toBe('mapped');
    expect(signal.event).toMatchObject({
      type: eventType,
      id: 'jti-1',
      source: ISS,
      data: { userId: 'u-42', ...data },
    });
    expect(eventSubject(signal.event!)).toEqual({ format: 'iss_sub', iss: 'https://idp.example.test', sub: 'u-42' });
  });

  it.each([T.caepAssuranceLevelChange, T.caepTokenClaimsChange, T.caepDeviceComplianceChange])(
    '%s is known but not mapped: recorded with its payload and subject, no event',
    (type) => {
      const signal = mapSet(claims(type, { current_status: 'not-compliant' }));
      expect(signal).toMatchObject({ mapping: 'not-mapped', eventType: type, event: undefined });
      expect(signal.payload).toEqual({ current_status: 'not-compliant' });
      expect(signal.subject).toEqual({ format: 'iss_sub', iss: 'https://idp.example.test', sub: 'u-42' });
    },
  );

  it('uses event_timestamp as the event time, else iat', () => {
    const stamped = mapSet(claims(T.caepSessionRevoked, { event_timestamp: IAT - 60 }));
    expect(stamped.event?.time).toBe(new Date((IAT - 60) * 1000).toISOString());
    expect(mapSet(claims(T.caepSessionRevoked)).event?.time).toBe(new Date(IAT * 1000).toISOString());
  });

  it('reads a subject from the event payload (pre-1.0 CAEP) and the user of a complex subject', () => {
    const inPayload = claims(T.riscAccountEnabled, { subject: { format: 'email', email: 'Bob@Example.COM' } });
    delete inPayload.sub_id;
    expect(mapSet(inPayload).event?.data).toMatchObject({ userId: 'bob@example.com' });
    const complex = claims(
      T.riscAccountEnabled,
      {},
      {
        sub_id: { format: 'complex', user: { format: 'opaque', id: 'u-7' }, session: { format: 'opaque', id: 's' } },
      },
    );
    expect(mapSet(complex).event?.data).toMatchObject({ userId: 'u-7' });
  });

  it('takes userIdOf to resolve the user id', () => {
    const signal = mapSet(claims(T.riscAccountEnabled), { userIdOf: (s) => `dir:${s.format}` });
    expect(signal.event?.data).toMatchObject({ userId: 'dir:iss_sub' });
  });

  it('refuses a risk level outside LOW, MEDIUM, HIGH with ERR_SSF_SET_INVALID', () => {
    expect(() => mapSet(claims(T.caepRiskLevelChange, { current_level: 'EXTREME' }))).toThrow(
      expect.objectContaining({ code: 'ERR_SSF_SET_INVALID' }),
    );
  });
});
