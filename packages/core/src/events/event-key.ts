import type { IdentityEvent } from './envelope.js';

/**
 * The dedupe key of an event: CloudEvents identifies an event by `source` and `id` together (CloudEvents 1.0
 * §3.1, `id`). The key is `source#id` with every `%` and `#` of the source percent-encoded, so the first `#`
 * always ends the source: `/a#b` + `c` and `/a` + `b#c` are two keys, not one. Every store and the engine key
 * events this way.
 *
 * @example
 * ```ts
 * eventKey({ source: 'https://iam.example.com', id: 'e-1' }); // 'https://iam.example.com#e-1'
 * eventKey({ source: '/a#b', id: 'c' }); // '/a%23b#c'
 * ```
 */
export function eventKey(event: Pick<IdentityEvent, 'source' | 'id'>): string {
  const source =
    event.source.includes('%') || event.source.includes('#')
      ? event.source.replaceAll('%', '%25').replaceAll('#', '%23')
      : event.source;
  return `${source}#${event.id}`;
}
