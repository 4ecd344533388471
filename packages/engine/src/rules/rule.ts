import {
  type AudienceSpec,
  type DirectoryUser,
  type EventType,
  type IdentityEvent,
  IdrelayError,
  type Urgency,
} from '@idrelay/core';
import { EVENT_TYPES } from '@idrelay/core/events';
import type { Condition } from './conditions.js';

/**
 * An audience in a declarative rule: an {@link AudienceSpec} whose string values may be `$`-references into the
 * event (`'$data.userId'`); a reference to an array inside `userIds` is spread. `'$data.audience'` alone takes a
 * whole spec from the event.
 *
 * @example
 * ```ts
 * const approvers: AudienceTemplate = { kind: 'users', userIds: ['$data.approvers'] };
 * const manager: AudienceTemplate = { kind: 'manager-of', userId: '$data.userId' };
 * ```
 */
export type AudienceTemplate = AudienceSpec | string | { kind: string; [key: string]: unknown };

/** Burst collection: matching events within `windowMs` reach each recipient as one alert with counts inside. */
export interface DigestOptions {
  /** Window length, ms. */
  windowMs: number;
  /** Events with the same key share a window; default the rule id. May hold `{{path}}` references. */
  key?: string;
}

/**
 * What a rule decides: who, with which template, how urgently.
 *
 * @example
 * ```ts
 * const intent: IntentSpec = { audience: { kind: 'users', userIds: ['$data.userId'] }, category: 'account' };
 * ```
 */
export interface IntentSpec {
  audience: AudienceTemplate;
  /** Template key; default the event type. */
  template?: string;
  /** Preference category the recipient can opt in or out of, e.g. `security-alert`, `announcement`. */
  category: string;
  urgency?: Urgency;
  /** Critical notifications ignore opt-outs and quiet hours (verification requests, security alerts). */
  critical?: boolean;
  /**
   * Replaces earlier pushes with the same id; `{{path}}` references are filled from the event (never from its
   * secret fields). Fitted to each provider's limit by the transports.
   */
  collapseId?: string;
  /**
   * When the push stops being worth sending: a `$path` to a timestamp in the event (`'$data.expiresAt'`, an RFC
   * 3339 string or epoch milliseconds). A delivery still unsent then settles `expired`; the push service is told
   * the remaining lifetime. Absent or unreadable: no expiry.
   */
  expiresAt?: string;
  /** Alternatively, a lifetime counted from planning, ms. The earlier of the two wins. */
  expiresAfterMs?: number;
  digest?: DigestOptions;
  /** Claim order among due deliveries; higher first. Default 0; verification requests use 100. */
  priority?: number;
  /** Keeps only recipients whose directory attributes match every entry (arrays match any member). */
  recipients?: Readonly<Record<string, string | readonly string[]>>;
}

/** A resolved intent, ready for audience resolution. */
export interface NotificationIntent {
  ruleId: string;
  audience: AudienceSpec;
  template: string;
  category: string;
  urgency: Urgency;
  critical: boolean;
  collapseId?: string;
  /** Never sent after this instant (ms since the epoch). */
  expiresAt?: number;
  digest?: { windowMs: number; key: string };
  priority: number;
  recipients?: Readonly<Record<string, string | readonly string[]>>;
}

/** What a code rule sees besides the event. */
export interface RuleContext {
  /** The directory user the event concerns (by `idrelaysubject`, else `data.userId`), looked up once. */
  user(): Promise<DirectoryUser | undefined>;
}

/**
 * A rule written as data: event types, conditions, and the intent when they hold.
 *
 * @example
 * ```ts
 * const rule: DeclarativeRule = {
 *   id: 'locked-to-user',
 *   types: ['account.locked'],
 *   when: [{ path: 'data.reason', in: ['failed-logins', 'risk'] }],
 *   notify: { audience: { kind: 'users', userIds: ['$data.userId'] }, category: 'account', urgency: 'high' },
 * };
 * ```
 */
export interface DeclarativeRule {
  id: string;
  description?: string;
  /** Event types, with or without the `idrelay.` prefix; `privilege.*` matches an area. */
  types: readonly string[];
  when?: readonly Condition[];
  notify: IntentSpec;
  /** Stop evaluating later rules when this one matches. */
  final?: boolean;
}

/** What a code rule returns: intents, nothing (no match), or a reason it did not match. */
export type CodeRuleResult = IntentSpec | readonly IntentSpec[] | undefined | { skip: string };

/**
 * A rule written as a function, for decisions declarative conditions cannot express.
 *
 * @example
 * ```ts
 * const rule: CodeRule = {
 *   id: 'vip-logins',
 *   types: ['auth.risk.detected'],
 *   evaluate: async (event, ctx) => ((await ctx.user())?.attributes.vip === 'true'
 *     ? { audience: { kind: 'group', groupId: 'soc' }, category: 'security-alert', critical: true }
 *     : { skip: 'not a VIP' }),
 * };
 * ```
 */
export interface CodeRule {
  id: string;
  description?: string;
  /** Event types as for declarative rules; all types when absent. */
  types?: readonly string[];
  evaluate(event: IdentityEvent, context: RuleContext): CodeRuleResult | Promise<CodeRuleResult>;
  final?: boolean;
}

/** A declarative or a code rule. */
export type Rule = DeclarativeRule | CodeRule;

function invalid(message: string, details: Record<string, unknown>): IdrelayError<'ERR_RULE_INVALID'> {
  return new IdrelayError('ERR_RULE_INVALID', message, { details });
}

/** Expands short type names (`privilege.*`) to full ones and checks each names at least one catalogue type. */
export function normaliseTypePattern(pattern: string, ruleId: string): string {
  const full = pattern.startsWith('idrelay.') ? pattern : `idrelay.${pattern}`;
  const prefix = full.endsWith('*') ? full.slice(0, -1) : undefined;
  const known =
    prefix === undefined ? EVENT_TYPES.includes(full as EventType) : EVENT_TYPES.some((t) => t.startsWith(prefix));
  if (!known)
    throw invalid(`Rule "${ruleId}": "${pattern}" matches no event type in the catalogue`, { ruleId, pattern });
  return full;
}

/** True when `type` matches one of the normalised patterns. */
export function typeMatches(patterns: readonly string[] | undefined, type: string): boolean {
  if (patterns === undefined) return true;
  return patterns.some((p) => (p.endsWith('*') ? type.startsWith(p.slice(0, -1)) : p === type));
}

/**
 * Validates rules once, at configuration time, and returns them with normalised type patterns.
 *
 * @throws {IdrelayError} `ERR_RULE_INVALID` for a missing or duplicate id, an unknown event type, a malformed
 * condition or an intent without audience or category.
 * @example
 * ```ts
 * const rules = defineRules([...defaultRules({ securityGroup: 'soc', adminGroup: 'iam-admins' }), myRule]);
 * ```
 */
export function defineRules(rules: readonly Rule[]): Rule[] {
  const seen = new Set<string>();
  return rules.map((rule) => {
    if (typeof rule?.id !== 'string' || rule.id.length === 0) throw invalid('A rule needs a non-empty id', {});
    if (seen.has(rule.id)) throw invalid(`Duplicate rule id "${rule.id}"`, { ruleId: rule.id });
    seen.add(rule.id);
    const types = rule.types?.map((pattern) => normaliseTypePattern(pattern, rule.id));
    if ('evaluate' in rule) {
      if (typeof rule.evaluate !== 'function')
        throw invalid(`Rule "${rule.id}": evaluate must be a function`, { ruleId: rule.id });
      return types === undefined ? { ...rule } : { ...rule, types };
    }
    if (!types || types.length === 0)
      throw invalid(`Rule "${rule.id}" needs at least one event type`, { ruleId: rule.id });
    for (const condition of rule.when ?? []) {
      if (typeof condition?.path !== 'string' || condition.path.length === 0) {
        throw invalid(`Rule "${rule.id}": every condition needs a path`, { ruleId: rule.id });
      }
      if (condition.matches !== undefined) {
        try {
          new RegExp(condition.matches);
        } catch (cause) {
          throw new IdrelayError('ERR_RULE_INVALID', `Rule "${rule.id}": bad pattern ${condition.matches}`, {
            cause,
            details: { ruleId: rule.id },
          });
        }
      }
    }
    validateIntent(rule.notify, rule.id);
    return { ...rule, types };
  });
}

/** Checks an intent's shape; code rule results are checked with it at evaluation time. */
export function validateIntent(intent: IntentSpec | undefined, ruleId: string): void {
  if (!intent || typeof intent !== 'object') throw invalid(`Rule "${ruleId}" has no intent`, { ruleId });
  if (intent.audience === undefined) throw invalid(`Rule "${ruleId}": the intent needs an audience`, { ruleId });
  if (typeof intent.category !== 'string' || intent.category.length === 0) {
    throw invalid(`Rule "${ruleId}": the intent needs a category`, { ruleId });
  }
  if (intent.digest && !(intent.digest.windowMs > 0)) {
    throw invalid(`Rule "${ruleId}": digest.windowMs must be positive`, { ruleId });
  }
  if (intent.expiresAt !== undefined && (typeof intent.expiresAt !== 'string' || !intent.expiresAt.startsWith('$'))) {
    throw invalid(`Rule "${ruleId}": expiresAt must be a $path into the event, e.g. '$data.expiresAt'`, { ruleId });
  }
  if (intent.expiresAfterMs !== undefined && !(Number.isFinite(intent.expiresAfterMs) && intent.expiresAfterMs > 0)) {
    throw invalid(`Rule "${ruleId}": expiresAfterMs must be a positive number of milliseconds`, { ruleId });
  }
}
