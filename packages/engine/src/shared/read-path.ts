/**
 * Reads a dotted path (`data.resource.id`) from a value; `undefined` when any step is missing. Rule conditions,
 * audience bindings, template fields and `{{path}}` fills all read events this one way.
 *
 * @example
 * ```ts
 * readPath({ data: { resource: { id: 'r-1' } } }, 'data.resource.id'); // 'r-1'
 * ```
 */
export function readPath(value: unknown, path: string): unknown {
  let current = value;
  for (const step of path.split('.')) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[step];
  }
  return current;
}
