import { IdrelayError } from '@idrelay/core';

/** What an LDAP change feed remembers between polls. */
export interface LdapCheckpoint {
  v: 1;
  mode: 'accesslog' | 'modifyTimestamp' | 'uSNChanged';
  /** Accesslog `reqStart`, a `modifyTimestamp`, or a USN: the last change already emitted. */
  position: string;
  /** Timestamp modes: present once the first poll recorded every entry as the baseline. */
  atPosition?: string[];
  /** Lockouts seen up to this generalized time (the lockout scan). */
  lockedSince?: string;
  lockedIds?: string[];
  /** When the last password-expiry scan ran (ms since the epoch). */
  expiryScanAt?: number;
}

/** Serialises a checkpoint for the relay to persist. */
export function encodeCheckpoint(checkpoint: LdapCheckpoint): string {
  return JSON.stringify(checkpoint);
}

const GENERALIZED = /^\d{14}(?:\.\d{1,6})?Z$/;

/**
 * Reads a stored checkpoint back.
 *
 * @throws {IdrelayError} `ERR_LDAP_CHECKPOINT` when it is not one this feed wrote, or was written in another mode.
 */
export function decodeCheckpoint(text: string, mode: LdapCheckpoint['mode']): LdapCheckpoint {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new IdrelayError('ERR_LDAP_CHECKPOINT', 'The LDAP checkpoint is not JSON', { cause });
  }
  const c = value as Partial<LdapCheckpoint> | null;
  const strings = (list: unknown) =>
    list === undefined || (Array.isArray(list) && list.every((x) => typeof x === 'string'));
  const positionOk =
    typeof c?.position === 'string' &&
    (mode === 'uSNChanged' ? /^\d{1,20}$/.test(c.position) : GENERALIZED.test(c.position));
  if (
    c?.v !== 1 ||
    c.mode !== mode ||
    !positionOk ||
    !strings(c.atPosition) ||
    !strings(c.lockedIds) ||
    (c.lockedSince !== undefined && !GENERALIZED.test(c.lockedSince)) ||
    (c.expiryScanAt !== undefined && !Number.isSafeInteger(c.expiryScanAt))
  ) {
    throw new IdrelayError('ERR_LDAP_CHECKPOINT', `The checkpoint was not written by an LDAP feed in ${mode} mode`, {
      details: { mode },
    });
  }
  return c as LdapCheckpoint;
}

/** An LDAP generalized time (RFC 4517 §3.3.13) with microseconds, the form accesslog `reqStart` uses. */
export function generalizedTime(ms: number, micro = false): string {
  const iso = new Date(ms).toISOString();
  const base = iso.replace(/[-:T]/g, '').slice(0, 14);
  return micro ? `${base}.${iso.slice(20, 23)}000Z` : `${base}Z`;
}

/** Parses a generalized time (`20261203114707Z`, `20261203114707.514173Z`) to ms since the epoch. */
export function parseGeneralizedTime(value: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?(?:[.,](\d+))?Z$/.exec(value);
  if (!m) return undefined;
  const ms = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +(m[6] ?? 0), Math.floor(+`0.${m[7] ?? '0'}` * 1000));
  return Number.isNaN(ms) ? undefined : ms;
}
