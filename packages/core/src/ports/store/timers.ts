import type { SettleResult } from './outbox.js';

/** A timer: a reminder, an escalation, an expiry, a digest flush, a maintenance sweep. */
export interface TimerRecord {
  /** Unique; scheduling an existing id moves it (and ends any claim on it). */
  id: string;
  kind: string;
  dueAt: number;
  flowId?: string;
  payload: Record<string, unknown>;
}

/** A timer as a claim returns it: held until `leaseUntil` under `claimToken`. */
export interface ClaimedTimer extends TimerRecord {
  claimToken: number;
  leaseUntil: number;
}

/** Durable timers, claimed like the outbox so one process fires each, and fenced the same way. */
export interface TimerStore {
  schedule(timer: TimerRecord): Promise<void>;
  /** Claims due timers for `leaseMs`, earliest first; a timer not completed in time is claimed again. */
  claimDue(now: number, limit: number, leaseMs: number): Promise<ClaimedTimer[]>;
  /**
   * Completes (deletes) claimed timers, each only while its `claimToken` still holds it: a timer rescheduled or
   * claimed again since is left alone and reported in `stale`.
   */
  complete(claims: readonly { id: string; claimToken: number }[]): Promise<SettleResult>;
  cancel(ids: readonly string[]): Promise<void>;
  cancelByFlow(flowId: string): Promise<number>;
  nextDueAt(): Promise<number | undefined>;
}
