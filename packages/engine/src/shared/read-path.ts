import { eventSubject } from '@idrelay/core/events';

/**
 * Reads a dotted path (`data.resource.id`) from a value; `undefined` when any step is missing. Rule conditions,
 * audience bindings, template fields and `{{path}}` fills all read events this one way.
 *
 * `idrelaysubject` travels as base64url JSON, because CloudEvents allows only primitive attribute values; a path
 * starting with it reads the decoded RFC 9493 identifier instead, so `idrelaysubject.format` in a condition,
 * `$idrelaysubject` in a `subjects` audience and `{{idrelaysubject.email}}` in a template keep working.
 *
 * @example
 * ```ts
 * readPath({ data: { resource: { id: 'r-1' } } }, 'data.resource.id'); // 'r-1'
 * readPath(event, 'idrelaysubject.email'); // 'alice@example.com'
 * ```
 */
export function readPath(value: unknown, path: string): unknown {
  let current = value;
  const steps = path.split('.');
  for (const [index, step] of steps.entries()) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[step];
    if (index === 0 && step === 'idrelaysubject' && typeof current === 'string') current = decodedSubject(current);
  }
  return current;
}

/** The identifier, or `undefined` for a value no parsed event could hold: a reader never throws. */
function decodedSubject(value: string): unknown {
  try {
    return eventSubject({ idrelaysubject: value });
  } catch {
    return undefined;
  }
}
