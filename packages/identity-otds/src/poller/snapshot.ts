import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { IdrelayError } from '@idrelay/core';
import '../errors.js';

/** What the poller remembers of one user between polls: the tracked attributes and the account flags. */
export interface UserState {
  /** Login name. */
  n: string;
  /** Tracked attributes that have a value. */
  a: Record<string, string[]>;
  /** Account disabled. */
  d?: 1;
  /** Account locked out. */
  l?: 1;
  /** Must change password at next sign-in. */
  p?: 1;
}

/** What the poller remembers of one watched group: its name and direct user members. */
export interface GroupState {
  n: string;
  m: string[];
}

/** The directory as of one poll; the checkpoint is this, compressed. */
export interface Snapshot {
  users: Map<string, UserState>;
  groups: Map<string, GroupState>;
}

const PREFIX = 'otds1.';
/** A checkpoint inflating past this is refused, so a corrupted one cannot exhaust memory. */
const MAX_INFLATED_BYTES = 512 << 20;

function invalid(reason: string, cause?: unknown): IdrelayError {
  return new IdrelayError('ERR_OTDS_CHECKPOINT_INVALID', `The OTDS checkpoint is unusable: ${reason}`, {
    ...(cause === undefined ? {} : { cause }),
  });
}

/**
 * Encodes a snapshot as a checkpoint string: `otds1.` and the base64url of the raw-deflated JSON. Users and groups
 * are sorted by id, so the same directory gives the same checkpoint and an unchanged poll is recognisable.
 */
export function encodeSnapshot(snapshot: Snapshot): string {
  const users = [...snapshot.users].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const groups = [...snapshot.groups].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const json = JSON.stringify({ u: users, g: groups });
  return PREFIX + deflateRawSync(Buffer.from(json), { level: 6 }).toString('base64url');
}

function isStringList(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

function userState(value: unknown): UserState | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const record = value as Record<string, unknown>;
  if (typeof record.n !== 'string' || typeof record.a !== 'object' || record.a === null) return undefined;
  const attributes: Record<string, string[]> = Object.create(null);
  for (const [name, values] of Object.entries(record.a)) {
    if (!isStringList(values)) return undefined;
    attributes[name] = values;
  }
  for (const flag of ['d', 'l', 'p'] as const) if (record[flag] !== undefined && record[flag] !== 1) return undefined;
  return {
    n: record.n,
    a: attributes,
    ...(record.d === 1 ? { d: 1 } : {}),
    ...(record.l === 1 ? { l: 1 } : {}),
    ...(record.p === 1 ? { p: 1 } : {}),
  };
}

function groupState(value: unknown): GroupState | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const record = value as Record<string, unknown>;
  if (typeof record.n !== 'string' || !isStringList(record.m)) return undefined;
  return { n: record.n, m: record.m };
}

/**
 * Decodes a checkpoint written by {@link encodeSnapshot}.
 *
 * @throws IdrelayError `ERR_OTDS_CHECKPOINT_INVALID` for anything else: another prefix, bad base64, a corrupt or
 *   oversized deflate stream, JSON of the wrong shape.
 */
export function decodeSnapshot(checkpoint: string): Snapshot {
  if (typeof checkpoint !== 'string' || !checkpoint.startsWith(PREFIX)) throw invalid('not written by this poller');
  const data = checkpoint.slice(PREFIX.length);
  if (!/^[A-Za-z0-9_-]*$/.test(data)) throw invalid('not base64url');
  let parsed: unknown;
  try {
    const json = inflateRawSync(Buffer.from(data, 'base64url'), { maxOutputLength: MAX_INFLATED_BYTES });
    parsed = JSON.parse(json.toString('utf8'));
  } catch (cause) {
    throw invalid('corrupt or truncated', cause);
  }
  const record = parsed as { u?: unknown; g?: unknown };
  if (!Array.isArray(record?.u) || !Array.isArray(record?.g)) throw invalid('unexpected structure');
  const users = new Map<string, UserState>();
  for (const entry of record.u) {
    const state = Array.isArray(entry) && typeof entry[0] === 'string' ? userState(entry[1]) : undefined;
    if (state === undefined) throw invalid('a malformed user entry');
    users.set(entry[0], state);
  }
  const groups = new Map<string, GroupState>();
  for (const entry of record.g) {
    const state = Array.isArray(entry) && typeof entry[0] === 'string' ? groupState(entry[1]) : undefined;
    if (state === undefined) throw invalid('a malformed group entry');
    groups.set(entry[0], state);
  }
  return { users, groups };
}
