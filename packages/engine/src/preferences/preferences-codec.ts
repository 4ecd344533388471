import { IdrelayError, type PreferenceRule, type QuietHours, type UserPreferences } from '@idrelay/core';

/**
 * Preferences as one directory attribute value, for directories that keep them (the bi-directional preference
 * use case): `category/channel=on|off` rules separated by `;`, then optionally `quiet=HH:MM-HH:MM@Zone`.
 *
 * @example
 * ```ts
 * encodePreferences({ userId: 'u', updatedAt: 0, rules: [{ category: 'announcement', channel: '*', enabled: false }],
 *   quietHours: { start: '22:00', end: '07:00', timeZone: 'Europe/Zurich' } });
 * // 'announcement/*=off;quiet=22:00-07:00@Europe/Zurich'
 * ```
 */
export function encodePreferences(preferences: Pick<UserPreferences, 'rules' | 'quietHours'>): string {
  const parts = preferences.rules.map((r) => `${r.category}/${r.channel}=${r.enabled ? 'on' : 'off'}`);
  const q = preferences.quietHours;
  if (q) parts.push(`quiet=${q.start}-${q.end}@${q.timeZone}`);
  return parts.join(';');
}

const RULE = /^([\w.*-]+)\/(apns|fcm|webpush|\*)=(on|off)$/;
const QUIET = /^quiet=(\d\d:\d\d)-(\d\d:\d\d)@([\w/+-]+)$/;

/**
 * Reads preferences written by {@link encodePreferences}.
 *
 * @throws {IdrelayError} `ERR_INVALID_ARGUMENT` when a part is malformed (the attribute was edited by hand).
 * @example
 * ```ts
 * decodePreferences('security-alert/*=on;quiet=22:00-07:00@UTC').quietHours?.start; // '22:00'
 * ```
 */
export function decodePreferences(text: string): { rules: PreferenceRule[]; quietHours?: QuietHours } {
  const rules: PreferenceRule[] = [];
  let quietHours: QuietHours | undefined;
  for (const part of text
    .split(';')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const rule = RULE.exec(part);
    if (rule) {
      rules.push({ category: rule[1]!, channel: rule[2] as PreferenceRule['channel'], enabled: rule[3] === 'on' });
      continue;
    }
    const quiet = QUIET.exec(part);
    if (quiet) {
      quietHours = { start: quiet[1]!, end: quiet[2]!, timeZone: quiet[3]! };
      continue;
    }
    throw new IdrelayError('ERR_INVALID_ARGUMENT', `Malformed preference "${part}"`, { details: { part } });
  }
  return quietHours ? { rules, quietHours } : { rules };
}
