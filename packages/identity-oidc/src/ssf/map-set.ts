import { IdrelayError, type SimpleSubjectIdentifier, type SubjectIdentifier } from '@idrelay/core';
import { createEvent, type IdentityEvent, normaliseSubject } from '@idrelay/core/events';
import { SSF_EVENT_TYPES as T } from './event-types.js';
import type { SetClaims } from './verify-set.js';

/**
 * How a received SET relates to the idrelay catalogue:
 * - `mapped`: `event` holds the identity event built from it;
 * - `not-mapped`: a CAEP/RISC type the receiver knows but the catalogue has no event for (yet);
 * - `stream`: an SSF stream-control event (verification, stream-updated);
 * - `unknown`: an event type this receiver does not know. Recorded, never dropped.
 */
export type SsfMapping = 'mapped' | 'not-mapped' | 'stream' | 'unknown';

/** One received, verified SET and what it became. */
export interface SsfSignal {
  /** The SET's `jti`; also the id of the mapped event, so a redelivery dedupes in the relay. */
  jti: string;
  /** The transmitter (`iss`). */
  issuer: string;
  /** The event type URI, e.g. `https://schemas.openid.net/secevent/risc/event-type/account-disabled`. */
  eventType: string;
  /** The event payload as sent. */
  payload: Record<string, unknown>;
  /** The normalised RFC 9493 subject (`sub_id`, or the event's `subject` member), when there is one. */
  subject: SubjectIdentifier | undefined;
  /** `txn`, shared by SETs with the same cause. */
  txn: string | undefined;
  mapping: SsfMapping;
  /** The identity event, when `mapping` is `mapped`. */
  event: IdentityEvent | undefined;
}

/** Options of {@link mapSet}. */
export interface MapSetOptions {
  /**
   * The `userId` put in the event's data for a subject. Default: the identifier itself (`sub` of `iss_sub`, the
   * address of `email`, `id` of `opaque`, …; the first of `aliases`).
   */
  userIdOf?: (subject: SubjectIdentifier) => string;
}

const NOT_MAPPED: ReadonlySet<string> = new Set([
  T.caepAssuranceLevelChange,
  T.caepTokenClaimsChange,
  T.caepDeviceComplianceChange,
]);
const STREAM: ReadonlySet<string> = new Set([T.ssfVerification, T.ssfStreamUpdated]);
const RISK_LEVELS = { low: 'low', medium: 'medium', high: 'high' } as const;

/**
 * Maps a verified SET to an idrelay identity event (source = the issuer, id = the `jti`, `idrelaysubject` = the
 * subject). The table is in the package README.
 *
 * @throws {IdrelayError} `ERR_SSF_SET_INVALID` when a type that maps needs a subject and the SET has none or an
 * unreadable one, or when its payload does not fit the event.
 * @see https://www.rfc-editor.org/rfc/rfc9493 (subject identifiers)
 */
export function mapSet(claims: SetClaims, options: MapSetOptions = {}): SsfSignal {
  const [eventType, payload] = Object.entries(claims.events)[0] as [string, Record<string, unknown>];
  const rawSubject = claims.sub_id ?? payload.subject;
  const subject = rawSubject === undefined ? undefined : readSubject(rawSubject);
  const signal: SsfSignal = {
    jti: claims.jti,
    issuer: claims.iss,
    eventType,
    payload,
    subject,
    txn: typeof claims.txn === 'string' ? claims.txn : undefined,
    mapping: STREAM.has(eventType) ? 'stream' : NOT_MAPPED.has(eventType) ? 'not-mapped' : 'unknown',
    event: undefined,
  };
  const build = BUILDERS[eventType];
  if (build === undefined) return signal;
  if (subject === undefined) throw invalid(`A ${eventType} SET must name its subject in \`sub_id\``);
  const userId = (options.userIdOf ?? defaultUserId)(subject);
  const time = typeof payload.event_timestamp === 'number' ? new Date(payload.event_timestamp * 1000) : undefined;
  try {
    const event = build(userId, payload, claims) as IdentityEvent;
    signal.event = createEvent(event.type as never, event.data as never, {
      source: claims.iss,
      id: claims.jti,
      idrelaysubject: subject,
      ...(time !== undefined && Number.isFinite(time.getTime()) ? { time } : { time: new Date(claims.iat * 1000) }),
    });
  } catch (error) {
    throw invalid(`The ${eventType} payload does not fit its idrelay event`, error);
  }
  signal.mapping = 'mapped';
  return signal;
}

type Built = { type: string; data: Record<string, unknown> };
type Builder = (userId: string, payload: Record<string, unknown>, claims: SetClaims) => Built;

const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value.length > 0 ? value.slice(0, 8192) : undefined;
const optional = <K extends string>(key: K, value: unknown): Partial<Record<K, string>> => {
  const found = text(value);
  return found === undefined ? {} : ({ [key]: found } as Record<K, string>);
};
const risk = (level: 'low' | 'medium' | 'high', reason: string, claims: SetClaims, userId: string): Built => ({
  type: 'idrelay.auth.risk.detected',
  data: { userId, level, reasons: [reason], causedBy: claims.jti },
});

const BUILDERS: Record<string, Builder> = {
  [T.riscAccountDisabled]: (userId, p) => ({
    type: 'idrelay.account.disabled',
    data: { userId, ...optional('reason', p.reason) },
  }),
  [T.riscAccountEnabled]: (userId) => ({ type: 'idrelay.account.enabled', data: { userId } }),
  [T.riscAccountPurged]: (userId) => ({ type: 'idrelay.user.deleted', data: { userId } }),
  [T.riscAccountCredentialChangeRequired]: (userId) => ({
    type: 'idrelay.account.password.reset-required',
    data: { userId },
  }),
  [T.riscCredentialCompromise]: (userId, _p, claims) => risk('high', 'credential-compromise', claims, userId),
  [T.caepSessionRevoked]: (userId, _p, claims) => risk('medium', 'session-revoked', claims, userId),
  [T.riscSessionsRevoked]: (userId, _p, claims) => risk('medium', 'session-revoked', claims, userId),
  [T.caepRiskLevelChange]: (userId, p, claims) => {
    const level = RISK_LEVELS[String(p.current_level).toLowerCase() as keyof typeof RISK_LEVELS];
    if (level === undefined) throw new TypeError('current_level must be LOW, MEDIUM or HIGH');
    return risk(level, 'other', claims, userId);
  },
  [T.caepCredentialChange]: (userId, p) => ({
    type: 'idrelay.user.updated',
    data: {
      userId,
      changes: [
        { attribute: `credential.${text(p.credential_type) ?? 'unknown'}`, newValue: text(p.change_type) ?? null },
      ],
    },
  }),
  [T.riscIdentifierChanged]: (userId, p) => ({
    type: 'idrelay.user.updated',
    data: { userId, changes: [{ attribute: 'identifier', newValue: text(p['new-value']) ?? null }] },
  }),
};

function readSubject(raw: unknown): SubjectIdentifier {
  // SSF allows a `complex` subject (RFC 9493 predecessor form); its `user` member names the person.
  const candidate =
    raw !== null && typeof raw === 'object' && (raw as { format?: unknown }).format === 'complex'
      ? (raw as { user?: unknown }).user
      : raw;
  try {
    return normaliseSubject(candidate);
  } catch (error) {
    throw invalid('`sub_id` is not an RFC 9493 subject identifier this receiver reads', error);
  }
}

function defaultUserId(subject: SubjectIdentifier): string {
  const simple: SimpleSubjectIdentifier =
    subject.format === 'aliases' ? (subject.identifiers[0] as SimpleSubjectIdentifier) : subject;
  switch (simple.format) {
    case 'email':
      return simple.email;
    case 'phone_number':
      return simple.phone_number;
    case 'iss_sub':
      return simple.sub;
    case 'opaque':
      return simple.id;
    case 'account':
    case 'uri':
      return simple.uri;
    case 'did':
      return simple.url;
  }
}

function invalid(message: string, cause?: unknown): IdrelayError<'ERR_SSF_SET_INVALID'> {
  return new IdrelayError('ERR_SSF_SET_INVALID', message, cause === undefined ? {} : { cause });
}
