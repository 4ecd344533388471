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
}
