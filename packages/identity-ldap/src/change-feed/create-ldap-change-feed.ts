import {
  type Clock,
  IdrelayError,
  type Logger,
  type PullIdentitySource,
  type SourceBatch,
  silentLogger,
  sleep,
  systemClock,
  type Timers,
} from '@idrelay/core';
import type { IdentityEvent } from '@idrelay/core/events';
import type { Entry } from 'ldapts';
import { createLdapDirectory, type LdapDirectory } from '../directory/create-ldap-directory.js';
import { rdnValue } from '../directory/user-entry.js';
import {
  createLdapConnection,
  first,
  type LdapConnection,
  type LdapConnectionOptions,
  values,
} from '../ldap/connection.js';
import { compileFilter } from '../ldap/filter.js';
import { checkSchema, LDAP_SCHEMAS, type LdapSchema } from '../ldap/schema.js';
import { ACCESSLOG_ATTRIBUTES, accesslogEvents, type ChangeLookups, lockedEvent } from './accesslog-changes.js';
import {
  decodeCheckpoint,
  encodeCheckpoint,
  generalizedTime,
  type LdapCheckpoint,
  parseGeneralizedTime,
} from './checkpoint.js';
import { changeId, type EventContext, ldapEvent, subjectOf } from './event-context.js';
import { type SnapshotStore, timestampEvents } from './timestamp-changes.js';

/** The password policy the expiry scan applies: read from a policy entry, or given. */
export type PasswordPolicySource = { dn: string } | { maxAgeSeconds: number; warningSeconds: number };

/** Options of {@link createLdapChangeFeed}. */
export interface LdapChangeFeedOptions {
  /** A shared connection, or options to open one. */
  connection: LdapConnection | LdapConnectionOptions;
  usersDN: string;
  groupsDN: string;
  /** Default {@link LDAP_SCHEMAS}.openldap. */
  schema?: LdapSchema;
  /**
   * `accesslog` (default): OpenLDAP slapo-accesslog, every write including deletes. `modifyTimestamp`: any LDAP
   * server; users and groups changed since the last poll, diffed against `snapshots`; deletes are not seen.
   * `uSNChanged`: the same for Active Directory, by update sequence number (poll one domain controller).
   */
  mode?: 'accesslog' | 'modifyTimestamp' | 'uSNChanged';
  /** Suffix of the accesslog database. Default `cn=accesslog`. */
  accesslogDN?: string;
  /** Ids of groups whose membership is a privilege (`privilege.assigned` / `revoked`). */
  privilegedGroups?: readonly string[];
  /** More membership changes than this for one group in one poll become one `group.bulk-changed`. Default 100. */
  bulkThreshold?: number;
  /** Accesslog entries read per poll at most; the rest come next poll. Default 5,000. */
  maxChangesPerPoll?: number;
  /** Password policy for `account.password.expiring`; `false` turns the scan off. Default off. */
  passwordPolicy?: PasswordPolicySource | false;
  /** How often the expiry scan runs. Default one hour. */
  expiryScanIntervalMs?: number;
  /**
   * Scan `pwdAccountLockedTime` each poll for ppolicy lockouts. The accesslog records them already, so the
   * default is on only in the timestamp modes (whose snapshots may miss a lock made and lifted between polls).
   */
  lockoutScan?: boolean;
  /** Previous state of entries for the timestamp modes; default in memory (lost on restart). */
  snapshots?: SnapshotStore;
  /** CloudEvents `source` of emitted events. Default `/connectors/ldap`. */
  source?: string;
  /** Wait between polls in `read`. Default 30 s. */
  pollIntervalMs?: number;
  clock?: Clock;
  timers?: Timers;
  logger?: Logger;
}

/** The LDAP change feed: a pull source, and `poll` for one step. */
export interface LdapChangeFeed extends PullIdentitySource {
  /** Reads the changes after `checkpoint` (from now when absent) once. */
  poll(checkpoint?: string, options?: { signal?: AbortSignal }): Promise<SourceBatch>;
  /** The directory the feed uses for lookups. */
  readonly directory: LdapDirectory;
}

/**
 * Creates an LDAP change feed as a pull `IdentitySource`. Each poll reads the accesslog (or the entries changed
 * since the checkpoint), scans for ppolicy lockouts and, when due, for passwords entering their expiry warning,
 * and yields the events with the checkpoint to store once they are ingested. Event ids are derived from the
 * change, so a re-read after a crash yields the same ids and ingest drops the copies.
 *
 * @throws {IdrelayError} `ERR_LDAP_CONFIG` for bad options; `poll` throws `ERR_LDAP_CHECKPOINT` for a foreign
 *   checkpoint and `ERR_LDAP_OPERATION` / `ERR_LDAP_CONNECT` when the server fails.
 * @example
 * ```ts
 * const feed = createLdapChangeFeed({ connection, usersDN, groupsDN, privilegedGroups: ['admins'] });
 * for await (const { events, checkpoint } of feed.read({ checkpoint: stored, signal })) {
 *   await relay.ingest(events);
 *   stored = checkpoint;
 * }
 * ```
 */
export function createLdapChangeFeed(options: LdapChangeFeedOptions): LdapChangeFeed {
  const schema = checkSchema(options.schema ?? LDAP_SCHEMAS.openldap);
  const mode = options.mode ?? 'accesslog';
  if (!['accesslog', 'modifyTimestamp', 'uSNChanged'].includes(mode)) {
    throw new IdrelayError(
      'ERR_LDAP_CONFIG',
      `mode must be accesslog, modifyTimestamp or uSNChanged, not ${String(mode)}`,
    );
  }
  const owned = !('run' in options.connection);
  const connection = 'run' in options.connection ? options.connection : createLdapConnection(options.connection);
  const directory = createLdapDirectory({
    connection,
    usersDN: options.usersDN,
    groupsDN: options.groupsDN,
    schema,
    ...(options.privilegedGroups ? { privilegedGroups: options.privilegedGroups } : {}),
  });
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? silentLogger;
  const accesslogDN = options.accesslogDN ?? 'cn=accesslog';
  const bulkThreshold = options.bulkThreshold ?? 100;
  const maxChanges = options.maxChangesPerPoll ?? 5000;
  const expiryEvery = options.expiryScanIntervalMs ?? 3_600_000;
  const snapshots = options.snapshots ?? memorySnapshots();
  const context: EventContext = {
    source: options.source ?? '/connectors/ldap',
    schema,
    privileged: new Set(options.privilegedGroups ?? []),
  };
  for (const [name, value] of [
    ['bulkThreshold', bulkThreshold],
    ['maxChangesPerPoll', maxChanges],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < 1)
      throw new IdrelayError('ERR_LDAP_CONFIG', `${name} must be a positive integer`);
  }

  const userIds = new Map<string, string | undefined>();
  const lookups: ChangeLookups = {
    async userIdOf(dn) {
      const byRdn = rdnValue(dn, schema.id);
      if (byRdn !== undefined) return byRdn;
      const key = dn.toLowerCase();
      if (userIds.has(key)) return userIds.get(key);
      const entry = await readBase(dn, compileFilter({ attribute: 'objectClass', equals: schema.userObjectClass }), [
        schema.id,
      ]);
      const id = entry ? first(entry, schema.id) : undefined;
      if (userIds.size > 10_000) userIds.clear();
      userIds.set(key, id);
      return id;
    },
    async groupIdOf(dn) {
      const entry = await readBase(dn, compileFilter({ attribute: 'objectClass', equals: schema.groupObjectClass }), [
        schema.groupId,
      ]);
      return entry ? first(entry, schema.groupId) : undefined;
    },
    usersOfGroup: (groupId) => directory.resolve({ kind: 'group', groupId }),
  };

  async function readBase(dn: string, filter: string, attributes: string[]): Promise<Entry | undefined> {
    try {
      return (await connection.search(dn, { scope: 'base', filter, attributes }))[0];
    } catch (error) {
      if ((error as IdrelayError).details?.resultCode === 32) return undefined;
      throw error;
    }
  }

  function initial(): LdapCheckpoint {
    const now = clock.now();
    return {
      v: 1,
      mode,
      // accesslog's reqStart holds whole seconds of server time and a per-second counter, not microseconds: start at
      // the start of this second, so a write in the same second is delivered rather than missed.
      position:
        mode === 'accesslog'
          ? generalizedTime(now).replace('Z', '.000000Z')
          : mode === 'modifyTimestamp'
            ? generalizedTime(now)
            : '0',
      lockedSince: generalizedTime(now),
      lockedIds: [],
    };
  }

  async function pollAccesslog(checkpoint: LdapCheckpoint, signal?: AbortSignal): Promise<IdentityEvent[]> {
    const filter = `(&(objectClass=auditWriteObject)(reqResult=0)${compileFilter({ attribute: 'reqStart', greaterOrEqual: checkpoint.position })})`;
    const entries: Entry[] = [];
    for await (const page of connection.pages(
      accesslogDN,
      { scope: 'one', filter, attributes: ACCESSLOG_ATTRIBUTES, pageSize: 1000 },
      signal,
    )) {
      for (const entry of page) {
        const reqStart = first(entry, 'reqStart');
        if (reqStart !== undefined && reqStart > checkpoint.position) entries.push(entry);
      }
      if (entries.length >= maxChanges) break;
    }
    entries.sort((a, b) => (first(a, 'reqStart')! < first(b, 'reqStart')! ? -1 : 1));
    const taken = entries.slice(0, maxChanges);
    if (taken.length > 0) checkpoint.position = first(taken[taken.length - 1]!, 'reqStart')!;
    return await accesslogEvents(
      taken,
      context,
      { usersDN: options.usersDN, groupsDN: options.groupsDN, bulkThreshold },
      lookups,
    );
  }

  async function scanLockouts(checkpoint: LdapCheckpoint): Promise<IdentityEvent[]> {
    const since = checkpoint.lockedSince ?? generalizedTime(clock.now());
    const filter = compileFilter({
      and: [
        { attribute: 'objectClass', equals: schema.userObjectClass },
        { attribute: 'pwdAccountLockedTime', greaterOrEqual: since },
      ],
    });
    const found: Entry[] = [];
    const attributes = [schema.id, schema.email, 'pwdAccountLockedTime', 'pwdFailureTime'];
    for await (const page of connection.pages(options.usersDN, { scope: 'sub', filter, attributes, pageSize: 500 })) {
      found.push(...page);
    }
    const seenAtSince = new Set(checkpoint.lockedIds ?? []);
    let latest = since;
    let latestIds = [...seenAtSince];
    const events: IdentityEvent[] = [];
    for (const entry of found) {
      const userId = first(entry, schema.id);
      const lockTime = first(entry, 'pwdAccountLockedTime');
      if (!userId || !lockTime || (lockTime === since && seenAtSince.has(userId))) continue;
      const time = parseGeneralizedTime(lockTime) ?? clock.now();
      const failures = values(entry, 'pwdFailureTime').length;
      events.push(
        lockedEvent(
          context,
          userId,
          lockTime,
          'failed-logins',
          time,
          subjectOf(userId, first(entry, schema.email)),
          failures,
        ),
      );
      if (lockTime > latest) {
        latest = lockTime;
        latestIds = [userId];
      } else if (lockTime === latest) latestIds.push(userId);
    }
    checkpoint.lockedSince = latest;
    checkpoint.lockedIds = latestIds.slice(-1000);
    return events;
  }

  let policyCache: { maxAge: number; warning: number } | undefined;
  async function policy(): Promise<{ maxAge: number; warning: number } | undefined> {
    const source = options.passwordPolicy;
    if (!source) return undefined;
    if ('maxAgeSeconds' in source) return { maxAge: source.maxAgeSeconds, warning: source.warningSeconds };
    if (policyCache) return policyCache;
    const entry = await readBase(source.dn, '(objectClass=*)', ['pwdMaxAge', 'pwdExpireWarning']);
    const maxAge = Number(entry ? first(entry, 'pwdMaxAge') : undefined);
    const warning = Number(entry ? first(entry, 'pwdExpireWarning') : undefined);
    if (!Number.isSafeInteger(maxAge) || maxAge <= 0) {
      logger.warn({ dn: source.dn }, 'ldap: the password policy has no pwdMaxAge; no expiry warnings');
      return undefined;
    }
    policyCache = { maxAge, warning: Number.isSafeInteger(warning) && warning > 0 ? warning : 0 };
    return policyCache;
  }

  async function scanExpiry(checkpoint: LdapCheckpoint): Promise<IdentityEvent[]> {
    const now = clock.now();
    if (checkpoint.expiryScanAt !== undefined && now - checkpoint.expiryScanAt < expiryEvery) return [];
    const rules = await policy();
    if (!rules || rules.warning === 0) return [];
    // Passwords changed in (lastWindowStart, windowStart] entered the warning window since the last scan.
    const windowStart = now - (rules.maxAge - rules.warning) * 1000;
    const expired = now - rules.maxAge * 1000;
    const previous =
      checkpoint.expiryScanAt === undefined
        ? expired
        : Math.max(expired, checkpoint.expiryScanAt - (rules.maxAge - rules.warning) * 1000);
    const filter = compileFilter({
      and: [
        { attribute: 'objectClass', equals: schema.userObjectClass },
        { attribute: 'pwdChangedTime', lessOrEqual: generalizedTime(windowStart) },
        { attribute: 'pwdChangedTime', greaterOrEqual: generalizedTime(previous) },
      ],
    });
    const events: IdentityEvent[] = [];
    for await (const page of connection.pages(options.usersDN, {
      scope: 'sub',
      filter,
      attributes: [schema.id, schema.email, 'pwdChangedTime'],
      pageSize: 1000,
    })) {
      for (const entry of page) {
        const userId = first(entry, schema.id);
        const changed = first(entry, 'pwdChangedTime');
        const changedAt = changed === undefined ? undefined : parseGeneralizedTime(changed);
        if (!userId || changed === undefined || changedAt === undefined) continue;
        if (checkpoint.expiryScanAt !== undefined && changedAt <= previous) continue;
        const expiresAt = changedAt + rules.maxAge * 1000;
        if (expiresAt <= now) continue;
        events.push(
          ldapEvent(
            context,
            'idrelay.account.password.expiring',
            {
              userId,
              expiresAt: new Date(expiresAt).toISOString(),
              daysLeft: Math.floor((expiresAt - now) / 86_400_000),
            },
            {
              id: changeId('expiring', userId, changed),
              time: now,
              subject: subjectOf(userId, first(entry, schema.email)),
            },
          ),
        );
      }
    }
    checkpoint.expiryScanAt = now;
    return events;
  }

  async function poll(stored?: string, pollOptions: { signal?: AbortSignal } = {}): Promise<SourceBatch> {
    const checkpoint = stored === undefined ? initial() : { ...decodeCheckpoint(stored, mode) };
    const events: IdentityEvent[] = [];
    if (mode === 'accesslog') events.push(...(await pollAccesslog(checkpoint, pollOptions.signal)));
    else
      events.push(
        ...(await timestampEvents(checkpoint, {
          connection,
          schema,
          context,
          snapshots,
          usersDN: options.usersDN,
          groupsDN: options.groupsDN,
          bulkThreshold,
          lookups,
          clock,
        })),
      );
    if (options.lockoutScan ?? mode !== 'accesslog') events.push(...(await scanLockouts(checkpoint)));
    events.push(...(await scanExpiry(checkpoint)));
    // The same lock can be seen twice (the log and the lockout scan): the first sighting, from the log, wins.
    const unique = new Map<string, IdentityEvent>();
    for (const event of events) if (!unique.has(event.id)) unique.set(event.id, event);
    return { events: [...unique.values()], checkpoint: encodeCheckpoint(checkpoint) };
  }

  return {
    kind: 'pull',
    name: `ldap:${options.usersDN}`,
    directory,
    poll,
    async *read({ checkpoint, signal }) {
      let current = checkpoint;
      while (!signal?.aborted) {
        let batch: SourceBatch;
        try {
          batch = await poll(current, signal ? { signal } : {});
        } catch (error) {
          if (signal?.aborted) return;
          if (error instanceof IdrelayError && (error.code === 'ERR_LDAP_CHECKPOINT' || error.code === 'ERR_LDAP_BIND'))
            throw error;
          logger.warn(
            { err: error instanceof Error ? error.message : String(error) },
            'ldap: poll failed; retrying next interval',
          );
          if (
            !(await sleep(options.pollIntervalMs ?? 30_000, {
              signal,
              ...(options.timers ? { timers: options.timers } : {}),
            }))
          )
            return;
          continue;
        }
        current = batch.checkpoint;
        yield batch;
        if (
          !(await sleep(options.pollIntervalMs ?? 30_000, {
            signal,
            ...(options.timers ? { timers: options.timers } : {}),
          }))
        )
          return;
      }
    },
    async close() {
      if (owned) await connection.close();
    },
  };
}

function memorySnapshots(): SnapshotStore {
  const map = new Map<string, Record<string, string[]>>();
  return {
    async get(key) {
      return map.get(key);
    },
    async set(key, value) {
      map.set(key, value);
    },
  };
}
