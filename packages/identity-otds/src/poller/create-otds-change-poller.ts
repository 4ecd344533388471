import {
  type Checkpoint,
  type Clock,
  errorInfo,
  IdrelayError,
  type Logger,
  type PullIdentitySource,
  type SourceBatch,
  silentLogger,
  sleep,
  systemClock,
  type Timers,
} from '@idrelay/core';
import type { OtdsClient } from '../client/create-otds-client.js';
import type { OtdsUser } from '../client/otds-types.js';
import { diffEvents } from './diff-events.js';
import { decodeSnapshot, encodeSnapshot, type GroupState, type Snapshot, type UserState } from './snapshot.js';

/** The attributes whose changes make `user.updated` unless `trackedAttributes` says otherwise. */
export const DEFAULT_TRACKED_ATTRIBUTES: readonly string[] = Object.freeze([
  'displayName',
  'givenName',
  'sn',
  'mail',
  'mobile',
  'telephoneNumber',
  'title',
  'department',
  'physicalDeliveryOfficeName',
  'manager',
  'preferredLanguage',
]);

/** Options of {@link createOtdsChangePoller}. */
export interface OtdsChangePollerOptions {
  client: OtdsClient;
  /** Name for logs. Default `otds-poll:<baseUrl>`. */
  name?: string;
  /** CloudEvents `source` of the events. Default the client's base URL. */
  source?: string;
  /** Only users and groups of this partition (`where_partition_name`). */
  partition?: string;
  /** Attributes compared between polls for `user.updated`. Default {@link DEFAULT_TRACKED_ATTRIBUTES}. */
  trackedAttributes?: readonly string[];
  /**
   * Groups whose direct user membership is watched: ids, or `'all'` (every group, one members listing each per
   * poll). Default `'all'`. `[]` watches none.
   */
  groups?: readonly string[] | 'all';
  /** Groups that carry privilege: their membership changes also emit `privilege.assigned` / `privilege.revoked`. */
  privilegedGroups?: readonly string[];
  /** More membership changes than this in one group and poll become one `group.bulk-changed`. Default 50. */
  bulkThreshold?: number;
  /** Wait between polls in `read`, ms. Default 60,000. */
  intervalMs?: number;
  /** Attribute holding the e-mail used as the events' subject. Default `mail`. */
  emailAttribute?: string;
  clock?: Clock;
  /** Timers for the wait between polls; tests inject their own. */
  timers?: Timers;
  logger?: Logger;
}

/** A pull `IdentitySource` over OTDS, plus a single poll for callers that schedule polls themselves. */
export interface OtdsChangePoller extends PullIdentitySource {
  /**
   * Reads the directory once and returns the events since `checkpoint` with the checkpoint to store after they are
   * ingested. Without a checkpoint it records the baseline and returns no events.
   */
  poll(checkpoint?: Checkpoint, options?: { signal?: AbortSignal }): Promise<SourceBatch>;
}

const ACCOUNT_FLAGS = ['accountDisabled', 'accountLockedOut', 'UserMustChangePasswordAtNextSignIn'] as const;

function isTrue(user: OtdsUser, name: string): boolean {
  return user.attributes[name]?.[0]?.toLowerCase() === 'true';
}

/**
 * A change feed for OTDS as a pull `IdentitySource`. OTDS publishes no change log, webhook or SSF stream, so each
 * poll lists every user (and the members of the watched groups) and compares them with the snapshot carried in the
 * checkpoint: new users → `user.created`; tracked attributes → `user.updated` with old and new values; gone →
 * `user.deleted`; `accountDisabled` → `account.disabled`; `accountLockedOut` → `account.locked`; cleared →
 * `account.enabled`; `UserMustChangePasswordAtNextSignIn` → `account.password.reset-required`; direct membership
 * → `group.member.added` / `removed` (and `privilege.assigned` / `revoked` for privileged groups), or one
 * `group.bulk-changed` past `bulkThreshold`. Event ids derive from the change itself, so re-reading from an older
 * checkpoint after a crash repeats the same ids and the relay dedupes them.
 *
 * `read` polls every `intervalMs` until its signal aborts; a retryable OTDS failure is logged and polled again
 * after the interval, anything else (refused credentials, a malformed answer, a foreign checkpoint) ends it.
 *
 * @example
 * ```ts
 * const poller = createOtdsChangePoller({ client, privilegedGroups: ['Admins@Content Server Members'] });
 * for await (const batch of poller.read({ checkpoint: await loadCheckpoint(), signal })) {
 *   for (const event of batch.events) await relay.ingest(event);
 *   await saveCheckpoint(batch.checkpoint);
 * }
 * ```
 */
export function createOtdsChangePoller(options: OtdsChangePollerOptions): OtdsChangePoller {
  const { client } = options;
  const tracked = [...new Set(options.trackedAttributes ?? DEFAULT_TRACKED_ATTRIBUTES)];
  const emailAttribute = options.emailAttribute ?? 'mail';
  if (!tracked.includes(emailAttribute)) tracked.push(emailAttribute);
  const watched = options.groups ?? 'all';
  const intervalMs = options.intervalMs ?? 60_000;
  const bulkThreshold = options.bulkThreshold ?? 50;
  if (!Number.isInteger(intervalMs) || intervalMs < 0) {
    throw new IdrelayError('ERR_INVALID_ARGUMENT', 'intervalMs must be a non-negative integer');
  }
  if (!Number.isInteger(bulkThreshold) || bulkThreshold < 1) {
    throw new IdrelayError('ERR_INVALID_ARGUMENT', 'bulkThreshold must be a positive integer');
  }
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? silentLogger;
  const source = options.source ?? client.baseUrl;
  const name = options.name ?? `otds-poll:${client.baseUrl}`;
  const partition = options.partition === undefined ? {} : { partition: options.partition };
  const privilegedGroups = new Set(options.privilegedGroups ?? []);

  function userState(user: OtdsUser): UserState {
    const attributes: Record<string, string[]> = {};
    for (const attribute of tracked) {
      const values = user.attributes[attribute];
      if (values !== undefined && values.length > 0) attributes[attribute] = [...values];
    }
    const [disabled, locked, mustChange] = ACCOUNT_FLAGS.map((flag) => isTrue(user, flag));
    return {
      n: user.name,
      a: attributes,
      ...(disabled ? { d: 1 } : {}),
      ...(locked ? { l: 1 } : {}),
      ...(mustChange ? { p: 1 } : {}),
    };
  }

  async function groupState(id: string, groupName: string, signal?: AbortSignal): Promise<GroupState | undefined> {
    const members: string[] = [];
    try {
      for await (const page of client.groupMembers(id, signal ? { signal } : {})) {
        for (const user of page.users) members.push(user.id);
      }
    } catch (error) {
      if (error instanceof IdrelayError && error.code === 'ERR_OTDS_NOT_FOUND') return undefined;
      throw error;
    }
    return { n: groupName, m: [...new Set(members)].sort() };
  }

  async function snapshot(signal?: AbortSignal): Promise<Snapshot> {
    const users = new Map<string, UserState>();
    for await (const user of client.users({ ...partition, ...(signal ? { signal } : {}) })) {
      users.set(user.id, userState(user));
    }
    const groups = new Map<string, GroupState>();
    if (watched === 'all') {
      const all: { id: string; name: string }[] = [];
      for await (const group of client.groups({ ...partition, ...(signal ? { signal } : {}) })) all.push(group);
      for (const group of all) {
        const state = await groupState(group.id, group.name, signal);
        if (state !== undefined) groups.set(group.id, state);
      }
    } else {
      for (const id of watched) {
        const state = await groupState(id, id, signal);
        if (state === undefined) logger.warn({ groupId: id }, 'otds: a watched group does not exist');
        else groups.set(id, state);
      }
    }
    return { users, groups };
  }

  async function poll(checkpoint?: Checkpoint, call?: { signal?: AbortSignal }): Promise<SourceBatch> {
    const before = checkpoint === undefined ? undefined : decodeSnapshot(checkpoint);
    const after = await snapshot(call?.signal);
    const next = encodeSnapshot(after);
    if (before === undefined) {
      logger.info({ users: after.users.size, groups: after.groups.size }, 'otds: baseline recorded');
      return { events: [], checkpoint: next };
    }
    const events = diffEvents(before, after, {
      source,
      now: () => new Date(clock.now()),
      privilegedGroups,
      bulkThreshold,
      emailOf: (state) => state.a[emailAttribute]?.[0],
      onInvalid: (type, key, error) =>
        logger.error({ type, key, error: String(error) }, 'otds: a change does not fit the event catalogue, skipped'),
    });
    return { events, checkpoint: next };
  }

  return {
    kind: 'pull',
    name,
    poll,
    async *read({ checkpoint, signal }) {
      let current = checkpoint;
      while (!signal?.aborted) {
        try {
          const batch = await poll(current, signal ? { signal } : {});
          if (batch.checkpoint !== current) {
            yield batch;
            current = batch.checkpoint;
          }
        } catch (error) {
          if (signal?.aborted) return;
          const code = error instanceof IdrelayError ? error.code : undefined;
          if (code === undefined || errorInfo(code)?.retryable !== true) throw error;
          logger.warn({ code, message: (error as Error).message }, 'otds: poll failed, retrying after the interval');
        }
        const timers = options.timers;
        if (!(await sleep(intervalMs, { signal, ...(timers ? { timers } : {}) }))) return;
      }
    },
  };
}
