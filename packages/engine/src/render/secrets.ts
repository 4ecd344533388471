import { createHash } from 'node:crypto';
import type { IdentityEvent } from '@idrelay/core';
import { secretPaths } from '@idrelay/core/events';
import { readPath } from '../shared/read-path.js';

/**
 * The event as templates and rule fills may see it: a copy with every secret field of its type removed (the
 * number-matching code of a sign-in verification), copied only along the secret paths, so the cost is a few
 * objects per event. Rendering against it is what keeps a custom template or rule from leaking a secret into
 * any of the three providers' payloads.
 *
 * @example
 * ```ts
 * redactSecrets(verification).data.numberMatch; // {} — the code is gone
 * ```
 */
export function redactSecrets<T extends IdentityEvent>(event: T): T {
  let redacted: unknown = event;
  for (const path of secretPaths(event.type)) redacted = without(redacted, path.split('.'));
  return redacted as T;
}

/** A copy of `value` without the property at `steps`, copying only the objects on the way. */
function without(value: unknown, steps: readonly string[]): unknown {
  const [head, ...rest] = steps;
  if (head === undefined || value === null || typeof value !== 'object' || !Object.hasOwn(value, head)) return value;
  const copy = (Array.isArray(value) ? [...value] : { ...value }) as Record<string, unknown>;
  if (rest.length === 0) delete copy[head];
  else copy[head] = without(copy[head], rest);
  return copy;
}

/** The secret values an event carries, as text: what must never appear in an identifier a rule computed. */
export function secretValues(event: IdentityEvent): string[] {
  const values: string[] = [];
  for (const path of secretPaths(event.type)) {
    const value = readPath(event, path);
    if (typeof value === 'string' || typeof value === 'number') values.push(String(value));
  }
  return values;
}

/**
 * An identifier a code rule computed (a collapse id, a digest key), with any secret of the event hashed away: a
 * code rule may read the whole event, but a number-matching code in an `apns-collapse-id` would travel to the
 * provider and the device. The hash keeps identical ids identical, so collapsing still works.
 */
export function withoutSecrets(identifier: string, secrets: readonly string[]): string {
  if (!secrets.some((secret) => secret.length > 0 && identifier.includes(secret))) return identifier;
  return `h-${createHash('sha256').update(identifier).digest('base64url').slice(0, 32)}`;
}

/** True when a template field path reads a secret of `type` (the path or anything below it). */
export function readsSecret(type: string, path: string): boolean {
  return secretPaths(type).some((secret) => path === secret || path.startsWith(`${secret}.`));
}
