import { type EventType, IdrelayError, type WriteBack, type WriteBackResult } from '@idrelay/core';
import type { IdentityEvent } from '@idrelay/core/events';
import { Attribute, Change } from 'ldapts';
import { createLdapDirectory } from '../directory/create-ldap-directory.js';
import { resultCode } from '../errors.js';
import { createLdapConnection, type LdapConnection, type LdapConnectionOptions } from '../ldap/connection.js';
import { childDN } from '../ldap/escape.js';
import { checkAttributeName } from '../ldap/filter.js';
import { checkSchema, LDAP_SCHEMAS, type LdapSchema } from '../ldap/schema.js';

/** Where a record goes: a value of an attribute of the user's entry, or a child entry under it. */
export type LdapWriteBackTarget =
  | { kind: 'attribute'; attribute: string }
  | {
      kind: 'child';
      /** Default `['top', 'idrelayRecordEntry']` (the testkit schema). */
      objectClass?: readonly string[];
      /** RDN attribute of the child, whose value is the event id. Default `cn`. */
      rdnAttribute?: string;
      /** Attribute holding the record. Default `idrelayRecord`. */
      recordAttribute?: string;
    };

/** Options of {@link createLdapWriteBack}. */
export interface LdapWriteBackOptions {
  connection: LdapConnection | LdapConnectionOptions;
  usersDN: string;
  groupsDN?: string;
  schema?: LdapSchema;
  target: LdapWriteBackTarget;
  /** Outcome types written. Default acknowledgements and access decisions. */
  types?: readonly EventType[];
  /** The user whose entry gets the record; default `data.userId`, else the approver of a decision. */
  userOf?: (event: IdentityEvent) => string | undefined;
  /** The record text; default a compact JSON object (event id, type, decision, time, references). */
  record?: (event: IdentityEvent) => string;
  name?: string;
}

const DEFAULT_TYPES: readonly EventType[] = [
  'idrelay.notification.acknowledged',
  'idrelay.access.approved',
  'idrelay.access.denied',
];

function defaultUser(event: IdentityEvent): string | undefined {
  const data = event.data as { userId?: unknown; approver?: { id?: unknown } };
  if (typeof data.userId === 'string') return data.userId;
  return typeof data.approver?.id === 'string' ? data.approver.id : undefined;
}

/** The default record: the event's id and type, the decision, when, and the ids it refers to. */
export function defaultRecord(event: IdentityEvent): string {
  const data = event.data as Record<string, unknown>;
  const decision =
    event.type === 'idrelay.access.approved'
      ? 'approved'
      : event.type === 'idrelay.access.denied'
        ? 'denied'
        : event.type === 'idrelay.notification.acknowledged'
          ? 'acknowledged'
          : undefined;
  const pick = (name: string) => (typeof data[name] === 'string' ? { [name]: data[name] } : {});
  return JSON.stringify({
    event: event.id,
    type: event.type,
    ...(decision ? { decision } : {}),
    at: (data.acknowledgedAt as string | undefined) ?? (data.decidedAt as string | undefined) ?? event.time,
    ...pick('notificationId'),
    ...pick('requestId'),
    ...pick('deviceId'),
  });
}

/**
 * Creates a `WriteBack` that records acknowledgements and decisions in the directory: as a value added to an
 * attribute of the user's entry, or as a child entry named by the event id (RDN value escaped per RFC 4514, so
 * an id cannot name another subtree). Idempotent on `event.id`: writing the same event twice leaves one record
 * (`attributeOrValueExists` and `entryAlreadyExists` count as written).
 *
 * @throws {IdrelayError} `ERR_LDAP_CONFIG` for a bad attribute name or connection options.
 * @example
 * ```ts
 * const writeBack = createLdapWriteBack({
 *   connection, usersDN: 'ou=people,dc=example,dc=com', target: { kind: 'attribute', attribute: 'idrelayRecord' },
 * });
 * ```
 */
export function createLdapWriteBack(options: LdapWriteBackOptions): WriteBack {
  const schema = checkSchema(options.schema ?? LDAP_SCHEMAS.openldap);
  const owned = !('run' in options.connection);
  const connection = 'run' in options.connection ? options.connection : createLdapConnection(options.connection);
  const directory = createLdapDirectory({
    connection,
    usersDN: options.usersDN,
    groupsDN: options.groupsDN ?? options.usersDN,
    schema,
  });
  const target = options.target;
  try {
    if (target.kind === 'attribute') checkAttributeName(target.attribute);
    else {
      checkAttributeName(target.rdnAttribute ?? 'cn');
      checkAttributeName(target.recordAttribute ?? 'idrelayRecord');
      for (const c of target.objectClass ?? []) checkAttributeName(c);
    }
  } catch (cause) {
    throw new IdrelayError('ERR_LDAP_CONFIG', `Bad write-back target: ${(cause as Error).message}`, { cause });
  }
  const types = options.types ?? DEFAULT_TYPES;
  const userOf = options.userOf ?? defaultUser;
  const record = options.record ?? defaultRecord;

  const failed = (error: unknown): WriteBackResult => {
    const code = error instanceof IdrelayError ? error.code : 'ERR_LDAP_OPERATION';
    const retryable =
      error instanceof IdrelayError
        ? code === 'ERR_LDAP_CONNECT' || (code === 'ERR_LDAP_OPERATION' && error.details?.retryable === true)
        : true;
    return { status: 'failed', code, reason: error instanceof Error ? error.message : String(error), retryable };
  };

  return {
    name: options.name ?? `ldap:${options.usersDN}`,
    types,
    async write(event, writeOptions = {}) {
      if (!types.includes(event.type)) return { status: 'skipped', reason: `type ${event.type} is not written back` };
      const userId = userOf(event);
      if (!userId) return { status: 'skipped', reason: 'the event names no user' };
      writeOptions.signal?.throwIfAborted();
      let userDN: string | undefined;
      try {
        userDN = await directory.userDN(userId);
      } catch (error) {
        return failed(error);
      }
      if (!userDN) {
        return {
          status: 'failed',
          code: 'ERR_DIRECTORY_NOT_FOUND',
          reason: `No user ${userId.slice(0, 128)}`,
          retryable: false,
        };
      }
      const value = record(event);
      try {
        if (target.kind === 'attribute') {
          const change = new Change({
            operation: 'add',
            modification: new Attribute({ type: target.attribute, values: [value] }),
          });
          await connection.run(`Writing back to ${userDN}`, async (client) => {
            try {
              await client.modify(userDN, change);
            } catch (error) {
              if (resultCode(error) !== 20) throw error;
            }
          });
          return { status: 'written', reference: userDN };
        }
        const dn = childDN(target.rdnAttribute ?? 'cn', event.id, userDN);
        await connection.run(`Writing back ${dn}`, async (client) => {
          try {
            await client.add(dn, {
              objectClass: [...(target.objectClass ?? ['top', 'idrelayRecordEntry'])],
              [target.rdnAttribute ?? 'cn']: event.id,
              [target.recordAttribute ?? 'idrelayRecord']: value,
            });
          } catch (error) {
            if (resultCode(error) !== 68) throw error;
          }
        });
        return { status: 'written', reference: dn };
      } catch (error) {
        return failed(error);
      }
    },
    async close() {
      if (owned) await connection.close();
    },
  };
}
