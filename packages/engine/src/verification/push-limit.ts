import { type Clock, type FlowRecord, type FlowStore, IdrelayError, isIdrelayError } from '@idrelay/core';

/** Push-bombing defence (NIST SP 800-63B-4 push rate limits, CISA "number matching" guidance). */
export interface PushLimitOptions {
  /** Verification pushes allowed per user within `windowMs`. Default 3. */
  maxPushes?: number;
  /** Default 5 minutes. */
  windowMs?: number;
  /**
   * After two unanswered verifications in a row, the next waits this long, doubling with each further unanswered
   * one (capped at 1 h); any answer resets it. Default 60 s.
   */
  backoffMs?: number;
}

/** The flow kind of the per-user counters (one flow per user, key = user id). */
export const PUSH_LIMIT_KIND = 'login-verification-limit';
const MAX_BACKOFF_MS = 60 * 60_000;

interface LimitData {
  sent: number[];
  unanswered: number;
  /** When the last verification expired unanswered: the back-off counts from there. */
  lastUnansweredAt?: number;
}

/**
 * Per-user verification push limits kept in the FlowStore (optimistic concurrency), so every process of a
 * deployment counts the same pushes and a restart forgets nothing.
 */
export function createPushLimit(options: PushLimitOptions & { flows: FlowStore; clock: Clock }) {
  const maxPushes = options.maxPushes ?? 3;
  const windowMs = options.windowMs ?? 5 * 60_000;
  const backoffMs = options.backoffMs ?? 60_000;
  const { flows, clock } = options;

  async function change(userId: string, update: (data: LimitData, now: number) => LimitData): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const now = clock.now();
      const existing = await flows.findByKey(PUSH_LIMIT_KIND, userId);
      const flow =
        existing ??
        (
          await flows.create({
            id: `vlimit:${userId}`,
            kind: PUSH_LIMIT_KIND,
            definitionVersion: 1,
            key: userId,
            state: 'active',
            data: { sent: [], unanswered: 0 },
            transitions: 0,
            createdAt: now,
            updatedAt: now,
          })
        ).flow;
      const data = update(flow.data as unknown as LimitData, now);
      try {
        await flows.update(flow.id, flow.version, {
          data: data as unknown as Record<string, unknown>,
          transitions: flow.transitions + 1,
          updatedAt: now,
        });
        return;
      } catch (error) {
        if (!isIdrelayError(error, 'ERR_STORE_CONFLICT') || attempt >= 20) throw error;
      }
    }
  }

  return {
    /** Counts one push for `userId`, or refuses it with `ERR_VERIFICATION_RATE_LIMITED` and `retryAfterMs`. */
    take(userId: string): Promise<void> {
      return change(userId, (data, now) => {
        const sent = data.sent.filter((at) => at > now - windowMs);
        let retryAfterMs = 0;
        if (sent.length >= maxPushes) retryAfterMs = sent[0]! + windowMs - now;
        if (data.unanswered >= 2 && data.lastUnansweredAt !== undefined) {
          const wait = Math.min(backoffMs * 2 ** (data.unanswered - 2), MAX_BACKOFF_MS);
          retryAfterMs = Math.max(retryAfterMs, data.lastUnansweredAt + wait - now);
        }
        if (retryAfterMs > 0) {
          throw new IdrelayError('ERR_VERIFICATION_RATE_LIMITED', 'Too many verification pushes for this user', {
            details: { userId, retryAfterMs, unanswered: data.unanswered },
          });
        }
        return { ...data, sent: [...sent, now] };
      });
    },
    /**
     * A verification was answered (approved, denied): the back-off starts over. `known` is the user's limit flow as
     * read with the answer (`null`: none); without it, it is read here.
     */
    async answered(userId: string, known?: FlowRecord | null): Promise<void> {
      // Most answers follow an answered push: nothing to reset, so nothing is written.
      const flow = known === undefined ? await flows.findByKey(PUSH_LIMIT_KIND, userId) : (known ?? undefined);
      if (flow === undefined || (flow.data as unknown as LimitData).unanswered === 0) return;
      await change(userId, (data) => ({ ...data, unanswered: 0 }));
    },
    /** A verification expired unanswered. */
    unanswered(userId: string): Promise<void> {
      return change(userId, (data, now) => ({ ...data, unanswered: data.unanswered + 1, lastUnansweredAt: now }));
    },
  };
}
