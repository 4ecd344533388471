/**
 * Declarative predicates over an event (and the directory user it concerns), evaluated without code so rules can
 * live in configuration files.
 */

import { readPath } from '../shared/read-path.js';

/**
 * One predicate on a dotted path. Paths start at the event (`data.privileged`, `type`, `source`) or at the
 * directory user the event concerns (`user.attributes.department`). Several keys in one condition must all hold.
 *
 * @example
 * ```ts
 * const privileged: Condition = { path: 'data.privileged', equals: true };
 * const finance: Condition = { path: 'user.attributes.department', in: ['finance', 'treasury'] };
 * ```
 */
export interface Condition {
  path: string;
  /** Strict equality with the value at `path` (an array value matches when it contains it). */
  equals?: string | number | boolean | null;
  /** The value (or one element of an array value) is one of these. */
  in?: readonly (string | number | boolean)[];
  /** `true`: the path has a value; `false`: it has none. */
  exists?: boolean;
  /** A regular expression (source text) the string value must match. */
  matches?: string;
  /** Inverts the result. */
  not?: boolean;
}

function anyOf(value: unknown, test: (item: unknown) => boolean): boolean {
  return Array.isArray(value) ? value.some(test) : test(value);
}

/**
 * Evaluates one condition against a context object; returns the reason text used in explanation trails.
 *
 * @example
 * ```ts
 * testCondition({ path: 'data.reported', equals: true }, { data: { reported: true } }); // { ok: true, … }
 * ```
 */
export function testCondition(condition: Condition, context: unknown): { ok: boolean; reason: string } {
  const value = readPath(context, condition.path);
  const checks: Array<[boolean, string]> = [];
  if (condition.exists !== undefined) {
    const present = value !== undefined && value !== null;
    checks.push([present === condition.exists, `${condition.path} ${condition.exists ? 'exists' : 'is absent'}`]);
  }
  if (condition.equals !== undefined) {
    checks.push([
      anyOf(value, (item) => item === condition.equals),
      `${condition.path} = ${JSON.stringify(condition.equals)}`,
    ]);
  }
  if (condition.in !== undefined) {
    const allowed = condition.in;
    checks.push([
      anyOf(value, (item) => allowed.includes(item as string)),
      `${condition.path} in ${JSON.stringify(allowed)}`,
    ]);
  }
  if (condition.matches !== undefined) {
    const pattern = new RegExp(condition.matches);
    checks.push([
      anyOf(value, (item) => typeof item === 'string' && pattern.test(item)),
      `${condition.path} ~ /${condition.matches}/`,
    ]);
  }
  const ok = checks.every(([pass]) => pass);
  const text = checks.map(([, reason]) => reason).join(' and ');
  return condition.not ? { ok: !ok, reason: `not (${text})` } : { ok, reason: text };
}
