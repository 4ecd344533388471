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

/** Action tokens. `consume` is atomic: of many concurrent calls with one token, exactly one gets `ok`. */
export interface ActionTokenStore {
  put(record: ActionTokenRecord): Promise<void>;
  consume(tokenHash: string, now: number): Promise<ConsumeResult>;
  /** Revokes the unused tokens of a notification (decided on another device); returns how many. */
  revokeByNotification(notificationId: string, at: number): Promise<number>;
}
