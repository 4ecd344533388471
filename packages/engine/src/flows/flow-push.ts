import type {
  ActionTokenStore,
  DirectoryUser,
  NewDelivery,
  OutboxStore,
  PushAction,
  PushMessage,
  Urgency,
} from '@idrelay/core';
import { createFanOut, type PlanContext } from '../plan/fan-out.js';
import { notificationId } from '../plan/keys.js';
import { toDeliveries } from '../plan/to-deliveries.js';
import { renderMessage } from '../render/render-message.js';

/** What a flow's pushes need from the relay. */
export interface FlowPushOptions {
  context: PlanContext;
  outbox: Pick<OutboxStore, 'enqueue' | 'listByEvent' | 'cancelByNotification'>;
  actionTokens: Pick<ActionTokenStore, 'revokeByNotification'>;
  /** Deliveries were enqueued, due at `dueAt`, with `priority`. */
  notify(dueAt: number, priority: number): void;
}

/** One push of a flow step to some of its approvers. */
export interface FlowPushInput {
  flowId: string;
  kind: string;
  stepId: string;
  notificationId: string;
  users: readonly DirectoryUser[];
  template: string;
  category: string;
  urgency: Urgency;
  critical: boolean;
  actions: readonly PushAction[];
  /** Shared by every push of the step, so a reminder replaces the first push and a withdrawal replaces both. */
  collapseId: string;
  expiresAt?: number;
  /** What the template reads. */
  context: unknown;
}

/** Which template replaces a step's stale pushes, and what it reads (the step's push context). */
export interface WithdrawalText {
  template: string;
  context: unknown;
}

/** The update's text when the relay's templates lack the key (a registry built without the defaults). */
const DEFAULT_WITHDRAWAL = {
  template: 'flow:decided',
  title: 'Request decided',
  body: 'This request has been decided. Nothing more to do.',
};
const DEFAULT_CLOSED = { title: 'Request closed', body: 'This request is no longer open. Nothing more to do.' };

/** The key every delivery of a flow is listed under in the outbox (`listByEvent`). */
export const flowEventKey = (flowId: string) => `flow:${flowId}`;

/**
 * A flow's pushes: planned through the same fan-out as rule notifications (preferences, quiet hours, templates,
 * expiry, the outbox), each message carrying the step's actions and `data.flowId` so the relay mints a per-device
 * action token at dispatch; and their withdrawal once the step is decided.
 *
 * @example
 * ```ts
 * const push = createFlowPush({ context, outbox: store.outbox, actionTokens: store.actionTokens, notify });
 * await push.send({ flowId, kind, stepId, notificationId, users, template, category, urgency, critical, actions, collapseId, context });
 * ```
 */
export function createFlowPush(options: FlowPushOptions) {
  const { context } = options;

  /** Enqueues one push per device of `users`; repeating it adds nothing (one delivery per notification and device). */
  async function send(input: FlowPushInput): Promise<number> {
    if (input.users.length === 0) return 0;
    const plan = {
      notificationId: input.notificationId,
      eventKey: flowEventKey(input.flowId),
      ruleId: `flow:${input.kind}:${input.stepId}`,
      template: input.template,
      type: input.template,
      category: input.category,
      critical: input.critical,
      urgency: input.urgency,
      priority: input.critical ? 50 : 20,
      collapseId: input.collapseId,
      ...(input.expiresAt !== undefined ? { expiresAt: input.expiresAt } : {}),
      context: input.context,
    };
    const found = await createFanOut(context, plan)(input.users);
    const withActions = new Map<PushMessage, PushMessage>();
    for (const verdict of found.verdicts) {
      const message = verdict.message;
      if (!message) continue;
      // One rendered message per locale is shared by its devices; add the step's actions to each copy once.
      let actionable = withActions.get(message);
      if (!actionable) {
        actionable = { ...message, actions: input.actions, data: { ...message.data, flowId: input.flowId } };
        withActions.set(message, actionable);
      }
      verdict.message = actionable;
    }
    const rows = toDeliveries(plan, found.verdicts, context.now());
    if (rows.deliveries.length === 0) return 0;
    await options.outbox.enqueue(rows.deliveries);
    options.notify(rows.earliest, plan.priority);
    return rows.deliveries.length;
  }

  /**
   * Withdraws a decided step's pushes: unsent ones are cancelled, unused action tokens revoked, and every device
   * that may show one (but `exceptDevice`, which answered) gets an update rendered from `text` (in the stale push's
   * locale) under the same collapse id (APNs `apns-collapse-id`, FCM collapse key, Web Push `Topic`), which
   * replaces the stale push. Idempotent.
   */
  async function withdraw(
    flowId: string,
    notifications: readonly string[],
    at: number,
    exceptDevice?: string,
    text: WithdrawalText = { template: DEFAULT_WITHDRAWAL.template, context: {} },
  ): Promise<{ revoked: number; updates: number }> {
    if (notifications.length === 0) return { revoked: 0, updates: 0 };
    const wanted = new Set(notifications);
    let revoked = 0;
    for (const id of wanted) {
      await options.outbox.cancelByNotification(id, at);
      revoked += await options.actionTokens.revokeByNotification(id, at);
    }
    const shown = (await options.outbox.listByEvent(flowEventKey(flowId))).filter(
      (d) => wanted.has(d.notificationId) && (d.status === 'delivered' || d.status === 'claimed'),
    );
    const updates: NewDelivery[] = [];
    const seen = new Set<string>();
    for (const d of shown) {
      const collapseId = d.message.collapseId;
      if (!collapseId || d.deviceId === exceptDevice || seen.has(`${d.deviceId}\0${collapseId}`)) continue;
      seen.add(`${d.deviceId}\0${collapseId}`);
      const id = notificationId(`${flowId}\0${collapseId}`, 'flow-withdraw');
      const { message, variant } = render(text, d.variant, id, collapseId, flowId);
      updates.push({
        eventKey: flowEventKey(flowId),
        notificationId: id,
        ruleId: 'flow:withdraw',
        userId: d.userId,
        deviceId: d.deviceId,
        platform: d.platform,
        dueAt: at,
        priority: 20,
        message,
        variant,
      });
    }
    if (updates.length > 0) {
      await options.outbox.enqueue(updates);
      options.notify(at, 20);
    }
    return { revoked, updates: updates.length };
  }

  /** The update in the locale of the push it replaces (its variant); an unknown key falls back to the default text. */
  function render(text: WithdrawalText, locale: string, id: string, collapseId: string, flowId: string) {
    const type = 'idrelay.flow.decided';
    const data = { type, notificationId: id, flowId };
    if (!context.templates.has(text.template)) {
      const { title, body } = text.template.startsWith('flow:closed') ? DEFAULT_CLOSED : DEFAULT_WITHDRAWAL;
      const message: PushMessage = {
        id,
        title,
        body,
        collapseId,
        urgency: 'normal',
        interruptionLevel: 'passive',
        data,
      };
      return { message, variant: '' };
    }
    const template = context.templates.get(text.template, locale === 'default' || locale === '' ? undefined : locale);
    const rendered = renderMessage(template, text.context, {
      notificationId: id,
      urgency: 'normal',
      critical: false,
      collapseId,
      type,
    });
    const { actions: _, ...message } = rendered;
    return {
      message: { ...message, interruptionLevel: 'passive' as const, data: { ...message.data, ...data } },
      variant: template.locale,
    };
  }

  return { send, withdraw };
}

/** The flow's pushes from {@link createFlowPush}. */
export type FlowPush = ReturnType<typeof createFlowPush>;
