import type { IdentityEvent, PreferenceRule, PreferenceStore, UserPreferences } from '@idrelay/core';

/**
 * Applies an ingested `idrelay.preference.changed` event (from a device, the console, or a directory connector that
 * noticed the preference attribute change) to the store: each change replaces the rule of the same category and
 * channel; `quietHours: null` clears them, absent leaves them. Events the relay emits itself are not re-ingested,
 * so write-back and read-back never loop.
 *
 * @example
 * ```ts
 * if (event.type === 'idrelay.preference.changed') await applyPreferenceEvent(store.preferences, event, Date.now());
 * ```
 */
export async function applyPreferenceEvent(
  preferences: Pick<PreferenceStore, 'get' | 'put'>,
  event: IdentityEvent<'idrelay.preference.changed'>,
  now: number,
): Promise<UserPreferences> {
  const { userId, changes, quietHours } = event.data;
  const current = await preferences.get(userId);
  const rules: PreferenceRule[] = [...(current?.rules ?? [])];
  for (const change of changes) {
    const rule: PreferenceRule = { category: change.category, channel: change.channel, enabled: change.enabled };
    const at = rules.findIndex((r) => r.category === rule.category && r.channel === rule.channel);
    if (at >= 0) rules[at] = rule;
    else rules.push(rule);
  }
  const next: UserPreferences = { userId, rules, updatedAt: now };
  if (quietHours === undefined && current?.quietHours) next.quietHours = current.quietHours;
  if (quietHours) next.quietHours = { start: quietHours.start, end: quietHours.end, timeZone: quietHours.timeZone };
  await preferences.put(next);
  return next;
}
