import {
  type EventType,
  errorInfo,
  type IdentityEvent,
  IdrelayError,
  type WriteBack,
  type WriteBackResult,
} from '@idrelay/core';
import type { OtdsClient } from '../client/create-otds-client.js';
import type { OtdsAttributeValues } from '../client/otds-types.js';

/** What to write to OTDS for one event. */
export interface OtdsWriteBackPlan {
  /** The OTDS user id, e.g. `alice@Content Server Members`. */
  userId: string;
  /** Attributes to replace (`PATCH /users/{id}`); `[]` clears one. */
  attributes?: OtdsAttributeValues;
  /** `userPartitionID` sent with the patch, when OTDS needs it to find the user. */
  partition?: string;
  /** Groups the user must be in afterwards. */
  addToGroups?: readonly string[];
  /** Groups the user must not be in afterwards. */
  removeFromGroups?: readonly string[];
}

/** Options of {@link createOtdsWriteBack}. */
export interface OtdsWriteBackOptions {
  client: OtdsClient;
  /** The outcome event types handed to this write-back, e.g. `['idrelay.notification.acknowledged']`. */
  types: readonly EventType[];
  /**
   * What to write for an event, or `undefined` to skip it. Build values from the event's validated data only; the
   * write-back checks attribute names and URL-encodes ids, but cannot tell a wrong user from a right one.
   */
  plan(event: IdentityEvent): OtdsWriteBackPlan | undefined;
  /** Name in the outgoing log. Default `otds`. */
  name?: string;
}

/**
 * A `WriteBack` that carries outcomes into OTDS: attributes replaced with `PATCH /users/{id}` and group
 * memberships set with `POST` / `DELETE /users/{id}/memberof`. Idempotent, as the relay's retries need: a patch
 * replaces values, and memberships are compared with the user's current groups first, so a repeated event changes
 * nothing twice. OTDS failures come back as `failed` with the `ERR_OTDS_*` code and its retryability (429, 5xx and
 * timeouts are retried by the relay; a missing user or refused credentials are not).
 *
 * @example
 * ```ts
 * const writeBack = createOtdsWriteBack({
 *   client,
 *   types: ['idrelay.notification.acknowledged'],
 *   plan: acknowledgementPlan({ attribute: 'oTExtraAttr1' }),
 * });
 * ```
 */
export function createOtdsWriteBack(options: OtdsWriteBackOptions): WriteBack {
  const { client } = options;
  if (!Array.isArray(options.types) || options.types.length === 0) {
    throw new IdrelayError('ERR_INVALID_ARGUMENT', 'createOtdsWriteBack needs at least one event type');
  }
  if (typeof options.plan !== 'function') throw new IdrelayError('ERR_INVALID_ARGUMENT', 'plan must be a function');

  return {
    name: options.name ?? 'otds',
    types: [...options.types],
    async write(event, call): Promise<WriteBackResult> {
      if (!options.types.includes(event.type)) return { status: 'skipped', reason: `not handled: ${event.type}` };
      let plan: OtdsWriteBackPlan | undefined;
      try {
        plan = options.plan(event);
        if (plan !== undefined) checkPlan(plan);
      } catch (error) {
        return failed(error);
      }
      if (plan === undefined) return { status: 'skipped', reason: 'no plan for this event' };
      const signal = call?.signal ? { signal: call.signal } : {};
      try {
        let wrote = false;
        if (plan.attributes !== undefined && Object.keys(plan.attributes).length > 0) {
          await client.patchUser(plan.userId, plan.attributes, {
            ...signal,
            ...(plan.partition === undefined ? {} : { partition: plan.partition }),
          });
          wrote = true;
        }
        const add = plan.addToGroups ?? [];
        const remove = plan.removeFromGroups ?? [];
        if (add.length > 0 || remove.length > 0) {
          const current = new Set<string>();
          for await (const group of client.userMemberOf(plan.userId, signal)) current.add(group.id);
          const toAdd = [...new Set(add)].filter((group) => !current.has(group));
          const toRemove = [...new Set(remove)].filter((group) => current.has(group));
          if (toAdd.length > 0) await client.addUserToGroups(plan.userId, toAdd, signal);
          if (toRemove.length > 0) await client.removeUserFromGroups(plan.userId, toRemove, signal);
          wrote ||= toAdd.length > 0 || toRemove.length > 0;
        }
        return wrote
          ? { status: 'written', reference: plan.userId }
          : { status: 'skipped', reason: 'OTDS already holds this outcome' };
      } catch (error) {
        if (call?.signal?.aborted) throw error;
        return failed(error);
      }
    },
  };
}

function checkPlan(plan: OtdsWriteBackPlan): void {
  const bad = (message: string) => new IdrelayError('ERR_INVALID_ARGUMENT', `write-back plan: ${message}`);
  if (typeof plan !== 'object' || plan === null) throw bad('must be an object');
  if (typeof plan.userId !== 'string' || plan.userId === '') throw bad('userId must be a non-empty string');
  for (const key of ['addToGroups', 'removeFromGroups'] as const) {
    const list = plan[key];
    if (list !== undefined && (!Array.isArray(list) || list.some((id) => typeof id !== 'string' || id === ''))) {
      throw bad(`${key} must be a list of group ids`);
    }
  }
  if (plan.attributes !== undefined && (typeof plan.attributes !== 'object' || plan.attributes === null)) {
    throw bad('attributes must be an object of string lists');
  }
}

function failed(error: unknown): WriteBackResult {
  if (error instanceof IdrelayError) {
    return {
      status: 'failed',
      code: error.code,
      reason: error.message,
      retryable: errorInfo(error.code)?.retryable ?? false,
    };
  }
  return { status: 'failed', code: 'ERR_OTDS_UNAVAILABLE', reason: String(error), retryable: true };
}

/** Options of {@link acknowledgementPlan}. */
export interface AcknowledgementPlanOptions {
  /** The user attribute that records the last acknowledgement, e.g. a custom `idrelayAcknowledged`. */
  attribute: string;
  /** `userPartitionID` to send with the patch. */
  partition?: string;
}

/**
 * A plan for `idrelay.notification.acknowledged`: the recipient's `attribute` is set to
 * `<notificationId> <acknowledgedAt>` (the latest acknowledgement; OTDS keeps no history of it).
 *
 * @example
 * ```ts
 * createOtdsWriteBack({ client, types: ['idrelay.notification.acknowledged'], plan: acknowledgementPlan({ attribute: 'oTExtraAttr1' }) });
 * ```
 */
export function acknowledgementPlan(
  options: AcknowledgementPlanOptions,
): (event: IdentityEvent) => OtdsWriteBackPlan | undefined {
  return (event) => {
    if (event.type !== 'idrelay.notification.acknowledged') return undefined;
    const data = event.data as { userId: string; notificationId: string; acknowledgedAt: string };
    return {
      userId: data.userId,
      attributes: { [options.attribute]: [`${data.notificationId} ${data.acknowledgedAt}`] },
      ...(options.partition === undefined ? {} : { partition: options.partition }),
    };
  };
}
