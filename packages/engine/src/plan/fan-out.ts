import type {
  DeviceRecord,
  DeviceStore,
  DirectoryUser,
  Platform,
  PreferenceStore,
  PushMessage,
  Urgency,
  UserPreferences,
} from '@idrelay/core';
import { isIdrelayError } from '@idrelay/core';
import { decideDelivery, type PreferenceDecision } from '../preferences/decide.js';
import { decodePreferences } from '../preferences/preferences-codec.js';
import type { ZoneClock } from '../preferences/quiet-hours.js';
import { renderMessage } from '../render/render-message.js';
import type { TemplateRegistry } from '../render/template-registry.js';

/**
 * What planning needs from the relay, built once in `createRelay()` and shared by planning, digests and preview,
 * so the three can never drift apart.
 */
export interface PlanContext {
  devices: Pick<DeviceStore, 'listByUsers'>;
  preferences: Pick<PreferenceStore, 'getMany'>;
  templates: TemplateRegistry;
  zones: ZoneClock;
  /** Platforms with a transport; devices of others are skipped. */
  platforms: ReadonlySet<Platform>;
  now(): number;
  /** Directory attribute holding encoded preferences, used when the store has none for a user. */
  preferencesAttribute?: string;
  /**
   * The relay's own event source: a login verification it started itself (`relay.verifications.start`) is answered
   * only with an enrolled device key, so devices without one get no push for it.
   */
  ownSource?: string;
}

/** One rule's notification, fixed for its whole audience. */
export interface NotificationPlan {
  notificationId: string;
  /** The event that caused it (`eventKey(event)`), or a digest window's key. */
  eventKey: string;
  ruleId: string;
  template: string;
  /** The event type (or template key) the app receives in `data.type`. */
  type: string;
  category: string;
  critical: boolean;
  urgency: Urgency;
  priority: number;
  collapseId?: string;
  /** Never sent after this instant. */
  expiresAt?: number;
  /** What templates read: the event without its secret fields, or a digest summary. */
  context: unknown;
}

/** One device of one recipient and what happens to it. */
export interface DeviceVerdict {
  user: DirectoryUser;
  device: DeviceRecord;
  decision: PreferenceDecision | { action: 'skip'; reason: string };
  /** The rendered message and the locale it was rendered in, unless suppressed or skipped. */
  message?: PushMessage;
  variant?: string;
}

/** A recipient planning could not handle (a bad directory value); the others are planned without them. */
export interface RecipientFailure {
  userId: string;
  code: string;
  reason: string;
}

/** What the fan-out of one page found. */
export interface PageVerdicts {
  verdicts: DeviceVerdict[];
  failures: RecipientFailure[];
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
 * render per locale (cached; the resolved template locale is the delivery's message variant), then a verdict
 * per device. Planning, digests and preview share it, so preview explains exactly what planning does.
 *
 * One recipient's failure (a time zone the runtime does not know, a template that cannot render their locale)
 * becomes a {@link RecipientFailure} and the rest of the page is planned: a bad value in one directory entry
 * must never cost everyone else their push.
 *
 * @example
 * ```ts
 * const fanOut = createFanOut(context, plan);
 * for await (const page of audiencePages(directory, intent.audience)) await write(await fanOut(page));
 * ```
 */
export function createFanOut(
  ctx: PlanContext,
  plan: NotificationPlan,
): (page: readonly DirectoryUser[]) => Promise<PageVerdicts> {
  const now = ctx.now();
  // A verification this relay started is confirmed only with the device key (docs/protocol.md §10): a device without
  // one could only show a prompt it cannot answer (one more push to bomb the user with), so it gets none.
  const keyedOnly =
    plan.type === 'idrelay.auth.verification.requested' &&
    ctx.ownSource !== undefined &&
    (plan.context as { source?: unknown } | undefined)?.source === ctx.ownSource;
  const rendered = new Map<string, { message: PushMessage; variant: string }>();
  const render = (locale: string | undefined) => {
    const cacheKey = locale ?? '';
    let found = rendered.get(cacheKey);
    if (!found) {
      const template = ctx.templates.get(plan.template, locale);
      const options = {
        notificationId: plan.notificationId,
        urgency: plan.urgency,
        critical: plan.critical,
        type: plan.type,
        ...(plan.collapseId ? { collapseId: plan.collapseId } : {}),
      };
      found = { message: renderMessage(template, plan.context, options), variant: template.locale };
      rendered.set(cacheKey, found);
    }
    return found;
  };
  return async (page) => {
    const ids = page.map((user) => user.id);
    const [devices, preferences] = await Promise.all([ctx.devices.listByUsers(ids), ctx.preferences.getMany(ids)]);
    const byUser = new Map<string, DeviceRecord[]>();
    for (const device of devices) {
      const list = byUser.get(device.userId);
      if (list) list.push(device);
      else byUser.set(device.userId, [device]);
    }
    const verdicts: DeviceVerdict[] = [];
    const failures: RecipientFailure[] = [];
    for (const user of page) {
      const owned = byUser.get(user.id);
      if (!owned) continue;
      const start = verdicts.length;
      try {
        const prefs = preferencesOf(user, preferences, ctx.preferencesAttribute);
        for (const device of owned) {
          if (!ctx.platforms.has(device.platform)) {
            verdicts.push({
              user,
              device,
              decision: { action: 'skip', reason: `no transport for ${device.platform}` },
            });
            continue;
          }
          if (keyedOnly && device.publicKey === undefined) {
            verdicts.push({
              user,
              device,
              decision: { action: 'skip', reason: 'no enrolled key to confirm a sign-in with' },
            });
            continue;
          }
          const facts = { category: plan.category, channel: device.platform, critical: plan.critical, now };
          const decision = decideDelivery(
            prefs,
            user.timeZone ? { ...facts, timeZone: user.timeZone } : facts,
            ctx.zones,
          );
          if (decision.action === 'suppress') verdicts.push({ user, device, decision });
          else verdicts.push({ user, device, decision, ...render(user.locale) });
        }
      } catch (error) {
        verdicts.length = start;
        failures.push({
          userId: user.id,
          code: isIdrelayError(error) ? error.code : 'ERR_RECIPIENT_FAILED',
          reason: error instanceof Error ? error.message : String(error),
        });
      }
    }
    return { verdicts, failures };
  };
}
