import type { IdentityEvent } from './envelope.js';

/**
 * The dedupe key of an event, `source#id`: CloudEvents identifies an event by `source` and `id` together
 * (CloudEvents 1.0 §3.1, `id`). Every store and the engine key events this way.
 *
 * @example
 * ```ts
 * eventKey({ source: 'https://iam.example.com', id: 'e-1' }); // 'https://iam.example.com#e-1'
 * ```
 */
export function eventKey(event: Pick<IdentityEvent, 'source' | 'id'>): string {
  return `${event.source}#${event.id}`;
}
