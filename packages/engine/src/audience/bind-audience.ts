import type { AudienceSpec } from '@idrelay/core';
import { AudienceSpecSchema } from '@idrelay/core/events';
import type { AudienceTemplate } from '../rules/rule.js';
import { readPath } from '../shared/read-path.js';

/** Why an audience template could not be bound to an event. */
export interface UnboundAudience {
  missing: string;
}

function bindValue(value: unknown, event: unknown, missing: string[]): unknown {
  if (typeof value === 'string' && value.startsWith('$')) {
    const found = readPath(event, value.slice(1));
    if (found === undefined || found === null) missing.push(value.slice(1));
    return found;
  }
  if (Array.isArray(value)) {
    return value.flatMap((item) => {
      const bound = bindValue(item, event, missing);
      return Array.isArray(bound) ? bound : bound === undefined ? [] : [bound];
    });
  }
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, bindValue(item, event, missing)]));
  }
  return value;
}

/**
 * Fills `$path` references of an audience template from the event and validates the result as an
 * {@link AudienceSpec}. Returns `{ missing }` when a referenced value is absent, so the rule trail can say why
 * nobody was addressed.
 *
 * @example
 * ```ts
 * bindAudience({ kind: 'manager-of', userId: '$data.userId' }, event); // { kind: 'manager-of', userId: 'u-1' }
 * ```
 */
export function bindAudience(template: AudienceTemplate, event: unknown): AudienceSpec | UnboundAudience {
  const missing: string[] = [];
  const bound = bindValue(template, event, missing);
  if (missing.length > 0) return { missing: missing.join(', ') };
  const parsed = AudienceSpecSchema.safeParse(bound);
  if (!parsed.success) return { missing: `a valid audience (${parsed.error.issues[0]?.message ?? 'malformed'})` };
  return parsed.data;
}
