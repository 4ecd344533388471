import type { PushMessage, Urgency } from '@idrelay/core';
import type { CompiledTemplate } from './template.js';

/** What a rendered message takes from the rule intent rather than the template. */
export interface RenderOptions {
  notificationId: string;
  urgency: Urgency;
  critical: boolean;
  collapseId?: string;
  /** The template key, carried in `data.type` so the app knows what to fetch. */
  type: string;
}

/**
 * Renders a push message: a pure function of template, context and options (no clock, no randomness), so the
 * same event renders the same message on every replay and in `preview`. Critical messages are `time-sensitive`
 * unless the template says otherwise.
 *
 * @example
 * ```ts
 * const message = renderMessage(templates.get(event.type, 'de-CH'), event, {
 *   notificationId: 'n-1', urgency: 'high', critical: true, type: event.type,
 * });
 * ```
 */
export function renderMessage(template: CompiledTemplate, context: unknown, options: RenderOptions): PushMessage {
  const parts = template.render(context);
  const message: PushMessage = { id: options.notificationId, ...parts, urgency: options.urgency };
  message.data = { type: options.type, notificationId: options.notificationId, ...parts.data };
  if (options.collapseId) message.collapseId = options.collapseId;
  if (!message.interruptionLevel) message.interruptionLevel = options.critical ? 'time-sensitive' : 'active';
  return message;
}
