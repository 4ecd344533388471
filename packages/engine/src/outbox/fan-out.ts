import type {
  DeviceRecord,
  DeviceTarget,
  DirectoryUser,
  Platform,
  PushMessage,
  Store,
  UserPreferences,
} from '@idrelay/core';
import { decideDelivery, type PreferenceDecision } from '../preferences/decide.js';
import { decodePreferences } from '../preferences/preferences-codec.js';
import type { ZoneClock } from '../preferences/quiet-hours.js';
import { renderMessage } from '../render/render-message.js';
import type { TemplateRegistry } from '../render/template-registry.js';

/** One device of one recipient and what happens to it. */
export interface DeviceVerdict {
  user: DirectoryUser;
  device: DeviceRecord;
  decision: PreferenceDecision | { action: 'skip'; reason: string };
  /** The rendered message, unless suppressed or skipped. */
  message?: PushMessage;
}

/** What the fan-out of one intent needs, fixed for the whole audience. */
export interface FanOutContext {
  store: Store;
  templates: TemplateRegistry;
  zones: ZoneClock;
  platforms: ReadonlySet<Platform>;
  /** Directory attribute holding encoded preferences, used when the store has none for a user. */
  preferencesAttribute?: string;
  now: number;
  notificationId: string;
  template: string;
  type: string;
  category: string;
  critical: boolean;
  urgency: PushMessage['urgency'];
  collapseId?: string;
  /** What templates read: the event, or a digest summary. */
  context: unknown;
}

/** The target part of a device record: what a transport needs, nothing about the user. */
export function targetOf(device: DeviceRecord): DeviceTarget {
  if (device.platform === 'webpush') {
    return { deviceId: device.deviceId, platform: 'webpush', subscription: device.subscription };
  }
  if (device.platform === 'apns') {
    const target: DeviceTarget = { deviceId: device.deviceId, platform: 'apns', token: device.token };
    if (device.topic) target.topic = device.topic;
    if (device.environment) target.environment = device.environment;
    return target;
  }
  return { deviceId: device.deviceId, platform: 'fcm', token: device.token };
}

function preferencesOf(
  user: DirectoryUser,
  stored: Map<string, UserPreferences>,
  attribute: string | undefined,
): UserPreferences | undefined {
  const found = stored.get(user.id);
  if (found || !attribute) return found;
  const raw = user.attributes[attribute];
  if (typeof raw !== 'string' || raw.length === 0) return undefined;
  try {
    return { userId: user.id, updatedAt: 0, ...decodePreferences(raw) };
  } catch {
    // A hand-edited attribute must not stop the fan-out; the user gets the defaults.
    return undefined;
  }
}

/**
 * Creates the per-page fan-out of one notification: one device query and one preference query per page, one
 * render per locale (cached), then a verdict per device. Planning and preview share it, so preview explains
 * exactly what planning does.
 *
 * @example
 * ```ts
 * const fanOut = createFanOut(context);
 * for await (const page of audiencePages(directory, intent.audience)) await write(await fanOut(page));
 * ```
 */
export function createFanOut(ctx: FanOutContext): (page: readonly DirectoryUser[]) => Promise<DeviceVerdict[]> {
  const rendered = new Map<string, PushMessage>();
  const render = (locale: string | undefined): PushMessage => {
    const cacheKey = locale ?? '';
    let message = rendered.get(cacheKey);
    if (!message) {
      const options = {
        notificationId: ctx.notificationId,
        urgency: ctx.urgency,
        critical: ctx.critical,
        type: ctx.type,
        ...(ctx.collapseId ? { collapseId: ctx.collapseId } : {}),
      };
      message = renderMessage(ctx.templates.get(ctx.template, locale), ctx.context, options);
      rendered.set(cacheKey, message);
    }
    return message;
  };
  return async (page) => {
    const ids = page.map((user) => user.id);
    const [devices, preferences] = await Promise.all([
      ctx.store.devices.listByUsers(ids),
      ctx.store.preferences.getMany(ids),
    ]);
    const byUser = new Map<string, DeviceRecord[]>();
    for (const device of devices) {
      const list = byUser.get(device.userId);
      if (list) list.push(device);
      else byUser.set(device.userId, [device]);
    }
    const verdicts: DeviceVerdict[] = [];
    for (const user of page) {
      const owned = byUser.get(user.id);
      if (!owned) continue;
      const prefs = preferencesOf(user, preferences, ctx.preferencesAttribute);
      for (const device of owned) {
        if (!ctx.platforms.has(device.platform)) {
          verdicts.push({ user, device, decision: { action: 'skip', reason: `no transport for ${device.platform}` } });
          continue;
        }
        const facts = { category: ctx.category, channel: device.platform, critical: ctx.critical, now: ctx.now };
        const decision = decideDelivery(
          prefs,
          user.timeZone ? { ...facts, timeZone: user.timeZone } : facts,
          ctx.zones,
        );
        if (decision.action === 'suppress') verdicts.push({ user, device, decision });
        else verdicts.push({ user, device, decision, message: render(user.locale) });
      }
    }
    return verdicts;
  };
}
