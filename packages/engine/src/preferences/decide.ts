import type { Platform, UserPreferences } from '@idrelay/core';
import { quietHoursAt, type ZoneClock } from './quiet-hours.js';

/** What preferences and quiet hours did to one delivery. */
export type PreferenceDecision =
  | { action: 'send'; reason: string }
  | { action: 'defer'; dueAt: number; reason: string }
  | { action: 'suppress'; reason: string };

/** The facts {@link decideDelivery} needs about one delivery. */
export interface DeliveryFacts {
  category: string;
  channel: Platform;
  /** Critical categories bypass opt-outs and quiet hours. */
  critical: boolean;
  now: number;
  /** The user's directory time zone, used when the quiet hours name none. */
  timeZone?: string;
}

/**
 * Applies a user's preferences to one delivery: the most specific opt-in/out rule wins (category and channel
 * beat category, which beats channel, which beats `*`/`*`; later rules win ties); quiet hours defer to their end
 * in the user's time zone; critical deliveries are never muted or deferred, and the decision says so.
 *
 * @example
 * ```ts
 * decideDelivery(prefs, { category: 'announcement', channel: 'apns', critical: false, now: Date.now() }, zones);
 * // { action: 'defer', dueAt: …, reason: 'quiet hours 22:00–07:00 Europe/Zurich' }
 * ```
 */
export function decideDelivery(
  preferences: UserPreferences | undefined,
  facts: DeliveryFacts,
  zones: ZoneClock,
): PreferenceDecision {
  // The critical override is decided before anything that can fail: a user's unreadable quiet hours (a zone the
  // runtime does not know) must never stop a sign-in verification or a security alert.
  if (facts.critical) return { action: 'send', reason: criticalReason(preferences, facts, zones) };
  if (!preferences) return { action: 'send', reason: 'no preferences: defaults apply' };
  const best = bestRule(preferences, facts);
  if (best && !best.enabled) return { action: 'suppress', reason: `opted out (${best.label})` };
  const quiet = quietState(preferences, facts, zones);
  if (quiet?.state.quiet) return { action: 'defer', dueAt: quiet.state.endsAt, reason: quiet.label };
  return { action: 'send', reason: best ? `opted in (${best.label})` : 'no matching rule: defaults apply' };
}

/** The most specific opt-in/out rule for the delivery (category and channel beat category, beat channel, beat `*`). */
function bestRule(
  preferences: UserPreferences,
  facts: DeliveryFacts,
): { score: number; enabled: boolean; label: string } | undefined {
  let best: { score: number; enabled: boolean; label: string } | undefined;
  for (const rule of preferences.rules) {
    if (rule.category !== '*' && rule.category !== facts.category) continue;
    if (rule.channel !== '*' && rule.channel !== facts.channel) continue;
    const score = (rule.category === '*' ? 0 : 2) + (rule.channel === '*' ? 0 : 1);
    if (!best || score >= best.score)
      best = { score, enabled: rule.enabled, label: `${rule.category}/${rule.channel}` };
  }
  return best;
}

/** Quiet hours at `facts.now` in the user's zone; throws on a zone or time the runtime cannot read. */
function quietState(preferences: UserPreferences, facts: DeliveryFacts, zones: ZoneClock) {
  const quiet = preferences.quietHours;
  if (!quiet) return undefined;
  const zoned = { ...quiet, timeZone: quiet.timeZone || facts.timeZone || 'UTC' };
  return {
    state: quietHoursAt(zoned, facts.now, zones),
    label: `quiet hours ${quiet.start}–${quiet.end} ${zoned.timeZone}`,
  };
}

/** Why a critical delivery is sent: what it overrides, when that can be read. */
function criticalReason(preferences: UserPreferences | undefined, facts: DeliveryFacts, zones: ZoneClock): string {
  if (!preferences) return 'no preferences: defaults apply';
  const best = bestRule(preferences, facts);
  if (best && !best.enabled) return `opted out (${best.label}) but the category is critical`;
  try {
    const quiet = quietState(preferences, facts, zones);
    if (quiet?.state.quiet) return `${quiet.label}, overridden: the category is critical`;
  } catch {
    return 'critical: sent (the quiet hours could not be read)';
  }
  return best ? `opted in (${best.label})` : 'no matching rule: defaults apply';
}
