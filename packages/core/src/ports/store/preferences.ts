import type { Platform } from '../../messages/push-message.js';
import type { EmitOptions } from './outgoing.js';

/** One opt-in or opt-out: `category` and `channel` may be `*`. The most specific rule wins. */
export interface PreferenceRule {
  category: string;
  channel: Platform | '*';
  enabled: boolean;
}

/** Quiet hours in the user's time zone; `start` may be after `end` (over midnight). */
export interface QuietHours {
  /** `HH:MM`, 24-hour. */
  start: string;
  end: string;
  /** IANA zone, e.g. `Europe/Berlin`; checked with `isTimeZone` wherever preferences enter the relay. */
  timeZone: string;
}

/** A user's notification preferences. */
export interface UserPreferences {
  userId: string;
  rules: PreferenceRule[];
  quietHours?: QuietHours;
  updatedAt: number;
}

/** Notification preferences per user. */
export interface PreferenceStore {
  get(userId: string): Promise<UserPreferences | undefined>;
  /** Preferences of many users at once, for fan-out. */
  getMany(userIds: readonly string[]): Promise<Map<string, UserPreferences>>;
  /** Replaces a user's preferences; `emit` entries join the outgoing log in the same transaction. */
  put(preferences: UserPreferences, options?: EmitOptions): Promise<void>;
}
