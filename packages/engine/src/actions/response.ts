import type {
  ActionTokenRecord,
  AuditEntryInput,
  ErrorCode,
  FlowPatch,
  FlowRecord,
  OutgoingInput,
} from '@idrelay/core';

/**
 * A device's answer that passed every check of the response protocol (docs/protocol.md): the action token is
 * known, unused, unexpired, unrevoked and bound to this recipient and device; the device's enrolled key signed a
 * fresh proof bound to the token, the decision, the target URL and method; the decision is one the token allows;
 * and, for number matching, the code the user typed matched. `respond()` builds it, consumes the token, and hands
 * it to the {@link ResponseHandler} that owns the token's flow.
 */
export interface VerifiedResponse {
  /** The token record as stored (its hash, bindings and allowed decisions). */
  token: ActionTokenRecord;
  notificationId: string;
  userId: string;
  deviceId: string;
  /** One of `token.actions`, e.g. `approve`, `deny`, `report`, `acknowledge`. */
  decision: string;
  /** The proof's unique id (`jti`); a second use of it is refused before this point. */
  proofId: string;
  /** When the device signed the proof (ms since the epoch, from `iat`). */
  signedAt: number;
  /** When the relay accepted it. */
  receivedAt: number;
  /** The compact JWS exactly as received: evidence for the audit trail and write-backs. */
  proof: string;
  /** Optional free-text reason the user gave (a denial comment), ≤ 500 characters. */
  comment?: string;
  /**
   * The token's flow as `respond()` read it before consuming the token, so a handler need not read it again. It may
   * be stale by the time the handler runs: change it only through the FlowStore's version check.
   */
  flow?: FlowRecord;
  /**
   * The recipient's flow of the handler's {@link ResponseHandler.userFlowKind}, read with the token (`null`: there
   * is none). Absent when the handler declares no such kind, or when handlers declare different ones. Possibly stale,
   * as `flow` is.
   */
  userFlow?: FlowRecord | null;
}

/** What applying a verified response did. */
export type ResponseVerdict =
  | { status: 'applied'; flowId?: string; state?: string; events?: readonly string[] }
  | { status: 'rejected'; code: ErrorCode; detail: string };

/**
 * A decision planned before the token is consumed, so that consuming the token and applying the decision are one
 * store transaction (`ActionTokenStore.applyResponse`): the flow move with its expected version and the outgoing
 * entries it emits, the timers it makes pointless, whether the notification's other tokens die, the handler's own
 * audit entries, and the verdict to answer with once it is written.
 */
export interface PreparedDecision {
  flow: { id: string; expectedVersion: number; patch: FlowPatch; emit?: readonly OutgoingInput[] };
  cancelTimers?: readonly string[];
  /** Revoke the other unused tokens of the notification (the other devices' pushes). */
  revokeOthers?: boolean;
  audit?: readonly AuditEntryInput[];
  verdict: Extract<ResponseVerdict, { status: 'applied' }>;
  /** Work after the write (counters, follow-up events); it runs only when the write moved the flow. */
  after?(): Promise<void>;
}

/**
 * Applies verified responses to whatever waits for them: an approval flow, a login verification, an
 * acknowledgement. A handler claims responses by the flow kind of `token.flowId` (or by decision for tokens
 * without a flow). Rejections carry an idrelay code (e.g. the request was decided on another device) and leave
 * the flow unchanged.
 */
export interface ResponseHandler {
  /** Flow kinds this handler owns, e.g. `['access-approval']`; `'*'` for tokens without a flow. */
  readonly kinds: readonly string[];
  /**
   * Optional: the kind of a per-user flow (keyed by the user id) this handler consults with every answer, such as
   * push limits. `respond()` then reads it in the same store read as the token and hands it over as
   * {@link VerifiedResponse.userFlow}, saving a read per answer. Read only when every handler that declares one
   * declares the same kind.
   */
  readonly userFlowKind?: string;
  apply(response: VerifiedResponse): Promise<ResponseVerdict>;
  /**
   * Optional fast path: plans the decision from `response.flow` without writing anything. `respond()` then consumes
   * the token and writes the plan in one transaction; when the flow moved on meanwhile (a version conflict) it falls
   * back to {@link apply} with the token already consumed. A `rejected` verdict (e.g. already decided) is answered
   * after the token is spent, as `apply` would; `undefined` means "use `apply`".
   */
  prepare?(response: VerifiedResponse): PreparedDecision | Extract<ResponseVerdict, { status: 'rejected' }> | undefined;
  /**
   * Optional: what the device may show about the request behind `token` (requester, resource, application, IP,
   * approximate location), answered by `relay.details()` after the device proved itself. Never put in a push.
   */
  details?(token: ActionTokenRecord): Promise<Record<string, unknown> | undefined>;
  /**
   * Optional: the request failed closed (too many wrong number-matching codes, `ERR_ACTION_ATTEMPTS_EXCEEDED`);
   * the relay already revoked the notification's tokens. A handler ends its flow here (state `failed`).
   */
  failClosed?(token: ActionTokenRecord, code: ErrorCode): Promise<void>;
}
