import type { AuditEntryInput } from '../audit.js';
import type { DeviceRecord } from './devices.js';
import type { FlowRecord } from './flows.js';
import type { OutgoingInput } from './outgoing.js';

/**
 * What a token row is for. `action` (the default, left out when stored) answers one push; `enrolment` is a
 * one-time enrolment code bound to a user; `proof` remembers a proof's `jti` until it expires, so a details
 * request (which consumes nothing) cannot be replayed. All three share one table and one single-use rule, so
 * only hashes are ever stored.
 */
export type TokenPurpose = 'action' | 'enrolment' | 'proof';

/** A single-use token bound to one notification, recipient and device. Only its hash is stored. */
export interface ActionTokenRecord {
  /** SHA-256 of the token, hex. */
  tokenHash: string;
  notificationId: string;
  userId: string;
  deviceId: string;
  /** Decisions this token may carry, e.g. `['approve', 'deny', 'report']`. */
  actions: readonly string[];
  flowId?: string;
  /** Hash of the number-matching code the user must enter, when the push uses number matching. */
  codeHash?: string;
  /** Absent means `action`. */
  purpose?: TokenPurpose;
  expiresAt: number;
  createdAt: number;
}

/** What consuming a token found. */
export type ConsumeResult =
  | { status: 'ok'; record: ActionTokenRecord }
  | { status: 'unknown' }
  | { status: 'used'; record: ActionTokenRecord }
  | { status: 'expired'; record: ActionTokenRecord }
  | { status: 'revoked'; record: ActionTokenRecord };

/** A token as stored, read without consuming it. */
export interface StoredActionToken {
  record: ActionTokenRecord;
  usedAt?: number;
  revokedAt?: number;
  /** Failed number-matching attempts so far (see {@link ActionTokenStore.recordFailure}). */
  attempts: number;
}

/** What one read for a device request finds (docs/protocol.md §6 steps 3-4); each part `undefined` when absent. */
export interface ResponseLookup {
  token?: StoredActionToken;
  /** The device the proof names (`kid`), whoever it belongs to. */
  device?: DeviceRecord;
  /** The token's flow (`record.flowId`), when it has one. */
  flow?: FlowRecord;
  /**
   * With {@link LookupOptions.userFlowKind}: the flow of that kind keyed by the token's user id (`null` when there
   * is none), read with the rest. Absent when not asked for or when the token is unknown.
   */
  userFlow?: FlowRecord | null;
}

/** What else {@link ActionTokenStore.lookup} reads with the token. */
export interface LookupOptions {
  /**
   * Also read the flow of this kind whose key is the token's user id — per-user state a response handler consults
   * with every answer, such as the login-verification push limits — in the same read.
   */
  userFlowKind?: string;
}

/** A flow change, as `FlowStore.update` takes it. */
export type FlowPatch = Partial<Pick<FlowRecord, 'state' | 'data' | 'transitions'>> & { updatedAt: number };

/** An accepted response's writes, applied by {@link ActionTokenStore.applyResponse} in one transaction. */
export interface ApplyResponseInput {
  tokenHash: string;
  /**
   * The token's record as `lookup` read it, when the caller has it. A record never changes once put (only its use,
   * revocation and attempt count do), so a store may answer a won consume with it instead of reading the row back.
   * It must be the record of `tokenHash`.
   */
  record?: ActionTokenRecord;
  /** When the response was received: the token must be unexpired at this time and is marked used at it. */
  at: number;
  /** The flow move the decision makes, with optimistic concurrency and the outgoing entries it emits. */
  flow?: { id: string; expectedVersion: number; patch: FlowPatch; emit?: readonly OutgoingInput[] };
  /** Revokes the other unused tokens of this notification (the other approvers' devices). */
  revokeNotification?: string;
  /** Timers (by id) the decision makes pointless: an expiry, reminders. */
  cancelTimers?: readonly string[];
  /** Audit entries of the decision. */
  audit?: readonly AuditEntryInput[];
}

/** What {@link ActionTokenStore.applyResponse} did. */
export interface ApplyResponseResult {
  /** As `consume` reports it; nothing else was written unless `ok`. */
  consumed: ConsumeResult;
  /**
   * `moved` when the flow took the patch (and the revocation, timers, outgoing entries and audit were written with
   * it); `conflict` when its version had moved on: the token stays consumed and nothing else was written.
   */
  flow?: 'moved' | 'conflict';
}

/**
 * Action tokens. `consume` is atomic: of many concurrent calls with one token, exactly one gets `ok`.
 *
 * The response protocol (docs/protocol.md) reads a token with `get`, verifies the device's signature, and only
 * then consumes it, so a forged request never burns a real token.
 */
export interface ActionTokenStore {
  put(record: ActionTokenRecord): Promise<void>;
  /** Stores many tokens in one transaction (one per delivery of a claimed batch). */
  putMany(records: readonly ActionTokenRecord[]): Promise<void>;
  /**
   * Stores `record` unless its hash is already stored; `true` when this call stored it. Of concurrent calls with
   * one hash exactly one gets `true`: the replay cache of proof ids (`purpose: 'proof'`) rests on it.
   */
  putOnce(record: ActionTokenRecord): Promise<boolean>;
  /** Reads a token and its state without consuming it; `undefined` when unknown. */
  get(tokenHash: string): Promise<StoredActionToken | undefined>;
  consume(tokenHash: string, now: number): Promise<ConsumeResult>;
  /**
   * Counts one failed number-matching attempt atomically and returns the count after it (0 for an unknown
   * token): ten concurrent failures end at ten, so the attempt limit holds under concurrency.
   */
  recordFailure(tokenHash: string, now: number): Promise<number>;
  /** Revokes the unused tokens of a notification (decided on another device); returns how many. */
  revokeByNotification(notificationId: string, at: number): Promise<number>;
  /** Revokes the unused tokens of a device (unenrolled, or its key replaced); returns how many. */
  revokeByDevice(deviceId: string, at: number): Promise<number>;
  /**
   * One read for a device request: the token (not consumed), the device `deviceId`, the token's flow and, when
   * `options.userFlowKind` is given, the user's flow of that kind, as one consistent read where the database allows
   * (one round trip on PostgreSQL).
   */
  lookup(tokenHash: string, deviceId: string, options?: LookupOptions): Promise<ResponseLookup>;
  /**
   * Applies an accepted response: consumes the token (atomic, as `consume`) and, only if that succeeded, moves the
   * flow (when its version is still `expectedVersion`) and, when there is no flow or it moved, revokes the
   * notification's other tokens, cancels the timers, appends the flow's outgoing entries and the audit entries,
   * all in one transaction. A store whose audit chain is group-committed (PostgreSQL) appends the audit entries
   * right after that transaction.
   */
  applyResponse(input: ApplyResponseInput): Promise<ApplyResponseResult>;
}
