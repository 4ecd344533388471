import { type DirectoryUser, type IdentityEvent, IdrelayError } from '@idrelay/core';
import { bindAudience } from '../audience/bind-audience.js';
import { fillText } from '../render/fill-text.js';
import { redactSecrets, secretValues, withoutSecrets } from '../render/secrets.js';
import { readPath } from '../shared/read-path.js';
import { testCondition } from './conditions.js';
import {
  type CodeRuleResult,
  type IntentSpec,
  type NotificationIntent,
  type Rule,
  type RuleContext,
  typeMatches,
  validateIntent,
} from './rule.js';

/** One step of the explanation trail: a rule, whether it matched, and why. */
export interface RuleTrailEntry {
  ruleId: string;
  matched: boolean;
  reason: string;
}

/** What {@link evaluateRules} found. */
export interface RuleEvaluation {
  intents: NotificationIntent[];
  trail: RuleTrailEntry[];
}

/** Options of {@link evaluateRules}. */
export interface EvaluateRulesOptions {
  /**
   * Why a rule must not notify for this event (a flow started by it sends its own pushes), or undefined. A rule
   * skipped this way appears in the trail with that reason and is not evaluated.
   */
  skip?(rule: Rule): string | undefined;
}

/** Reads an instant from the event: an RFC 3339 string or epoch milliseconds; undefined when unreadable. */
function instantAt(event: unknown, reference: string): number | undefined {
  const value = readPath(event, reference.slice(1));
  const at = typeof value === 'number' ? value : typeof value === 'string' ? Date.parse(value) : Number.NaN;
  return Number.isFinite(at) ? at : undefined;
}

function toIntent(
  ruleId: string,
  spec: IntentSpec,
  event: IdentityEvent,
  now: number,
): NotificationIntent | { missing: string } {
  const audience = bindAudience(spec.audience, event);
  if ('missing' in audience) return audience;
  // Text a rule fills in travels to the provider (collapse ids) or names a digest: fill it from the event
  // without its secret fields, and hash an id a code rule computed from one.
  const visible = redactSecrets(event);
  const secrets = secretValues(event);
  const intent: NotificationIntent = {
    ruleId,
    audience,
    template: spec.template ?? event.type,
    category: spec.category,
    urgency: spec.urgency ?? (spec.critical ? 'high' : 'normal'),
    critical: spec.critical === true,
    priority: spec.priority ?? (spec.critical ? 50 : 0),
  };
  if (spec.collapseId !== undefined) intent.collapseId = withoutSecrets(fillText(spec.collapseId, visible), secrets);
  if (spec.digest) {
    intent.digest = {
      windowMs: spec.digest.windowMs,
      key: withoutSecrets(fillText(spec.digest.key ?? ruleId, visible), secrets),
    };
  }
  if (spec.recipients) intent.recipients = spec.recipients;
  const expiries = [
    spec.expiresAt === undefined ? undefined : instantAt(event, spec.expiresAt),
    spec.expiresAfterMs === undefined ? undefined : now + spec.expiresAfterMs,
  ].filter((at): at is number => at !== undefined);
  if (expiries.length > 0) intent.expiresAt = Math.min(...expiries);
  return intent;
}

/**
 * Evaluates `rules` in order against an event, returning an intent per matching rule and a trail that explains
 * every rule's verdict. A `final` rule that matches stops evaluation. A code rule that throws is reported in the
 * trail and skipped, so one faulty rule cannot stop the others.
 *
 * @example
 * ```ts
 * const { intents, trail } = await evaluateRules(rules, event, { user: async () => undefined });
 * for (const step of trail) console.log(step.ruleId, step.matched, step.reason);
 * ```
 */
export async function evaluateRules(
  rules: readonly Rule[],
  event: IdentityEvent,
  context: RuleContext,
  now: number = Date.now(),
  options: EvaluateRulesOptions = {},
): Promise<RuleEvaluation> {
  const intents: NotificationIntent[] = [];
  const trail: RuleTrailEntry[] = [];
  let user: DirectoryUser | undefined;
  let userLoaded = false;
  const loadUser = async () => {
    if (!userLoaded) {
      user = await context.user();
      userLoaded = true;
    }
    return user;
  };
  for (const rule of rules) {
    if (!typeMatches(rule.types, event.type)) continue;
    const skipped = options.skip?.(rule);
    if (skipped !== undefined) {
      trail.push({ ruleId: rule.id, matched: false, reason: skipped });
      continue;
    }
    let specs: IntentSpec[];
    if ('evaluate' in rule) {
      let result: CodeRuleResult;
      try {
        result = await rule.evaluate(event, { user: loadUser });
      } catch (error) {
        trail.push({ ruleId: rule.id, matched: false, reason: `threw: ${(error as Error)?.message ?? String(error)}` });
        continue;
      }
      if (result === undefined) {
        trail.push({ ruleId: rule.id, matched: false, reason: 'returned no intent' });
        continue;
      }
      if ('skip' in result) {
        trail.push({ ruleId: rule.id, matched: false, reason: String(result.skip) });
        continue;
      }
      specs = Array.isArray(result) ? [...result] : [result as IntentSpec];
      try {
        for (const spec of specs) validateIntent(spec, rule.id);
      } catch (error) {
        if (error instanceof IdrelayError) {
          trail.push({ ruleId: rule.id, matched: false, reason: error.message });
          continue;
        }
        throw error;
      }
    } else {
      const needsUser = rule.when?.some((c) => c.path.startsWith('user.')) ?? false;
      const subject = needsUser ? { ...event, user: await loadUser() } : event;
      const results = (rule.when ?? []).map((condition) => testCondition(condition, subject));
      const failed = results.find((r) => !r.ok);
      if (failed) {
        trail.push({ ruleId: rule.id, matched: false, reason: `condition failed: ${failed.reason}` });
        continue;
      }
      specs = [rule.notify];
      const why = results.map((r) => r.reason).join(', ');
      trail.push({ ruleId: rule.id, matched: true, reason: why ? `type matched; ${why}` : 'type matched' });
    }
    const before = intents.length;
    const problems: string[] = [];
    for (const spec of specs) {
      const intent = toIntent(rule.id, spec, event, now);
      if ('missing' in intent) problems.push(`audience needs ${intent.missing}`);
      else intents.push(intent);
    }
    if ('evaluate' in rule) {
      trail.push({
        ruleId: rule.id,
        matched: intents.length > before,
        reason: problems.length > 0 ? problems.join('; ') : `code rule returned ${specs.length} intent(s)`,
      });
    } else if (problems.length > 0) {
      const last = trail.at(-1)!;
      last.matched = false;
      last.reason = `${last.reason}; but ${problems.join('; ')}`;
    }
    if (rule.final && intents.length > before) break;
  }
  return { intents, trail };
}
