import type { EventIssue } from './parse.js';

/** Bounds on what an event may be, checked before any schema sees it. */
export interface EventLimits {
  /** Largest event accepted, in bytes of its JSON text. Default 262,144 (256 KB). */
  maxBytes?: number;
  /** Deepest nesting of objects and arrays accepted (the envelope is level 1). Default 32, at most 1,000. */
  maxDepth?: number;
}

/** The limits {@link safeParseEvent} applies when given none. */
export const DEFAULT_EVENT_LIMITS: Readonly<Required<EventLimits>> = { maxBytes: 262_144, maxDepth: 32 };

/** What {@link guardEventInput} found: a plain JSON copy of the input, or why it cannot be one. */
export type GuardResult = { ok: true; value: unknown } | { ok: false; issues: EventIssue[] };

class Refusal extends Error {
  readonly issue: EventIssue;
  constructor(issue: EventIssue) {
    super(issue.message);
    this.issue = issue;
  }
}

const pathOf = (path: readonly (string | number)[]): string => path.join('.');

/**
 * Turns untrusted input into a plain JSON value that is safe to validate and store, or refuses it: text larger
 * than `maxBytes` is not even parsed; nesting deeper than `maxDepth`, a NUL character in any string or key
 * (PostgreSQL refuses them, and they cut C strings short), a cycle, a getter or proxy that throws, and values
 * JSON cannot carry (`bigint`, `symbol`) are issues with a path. The copy is taken once, so a getter that
 * answers differently on each read cannot show the schema one event and the store another.
 *
 * @example
 * ```ts
 * const guarded = guardEventInput(body, { maxBytes: 65_536 });
 * if (!guarded.ok) console.log(guarded.issues); // [{ path: 'data', code: 'too_big', … }]
 * ```
 */
export function guardEventInput(input: unknown, limits: EventLimits = {}): GuardResult {
  const maxBytes = limits.maxBytes ?? DEFAULT_EVENT_LIMITS.maxBytes;
  const maxDepth = Math.min(limits.maxDepth ?? DEFAULT_EVENT_LIMITS.maxDepth, 1_000);
  let source = input;
  if (typeof input === 'string') {
    const bytes = Buffer.byteLength(input, 'utf8');
    if (bytes > maxBytes) {
      return {
        ok: false,
        issues: [{ path: '', code: 'too_big', message: `${bytes} bytes; the limit is ${maxBytes}` }],
      };
    }
    try {
      source = JSON.parse(input);
    } catch {
      return { ok: false, issues: [{ path: '', code: 'invalid_json', message: 'not valid JSON' }] };
    }
  }
  let bytes = 0;
  const seen = new Set<object>();
  const count = (n: number, path: readonly (string | number)[]) => {
    bytes += n;
    if (bytes > maxBytes) {
      throw new Refusal({ path: pathOf(path), code: 'too_big', message: `larger than the limit of ${maxBytes} bytes` });
    }
  };
  const text = (value: string, path: readonly (string | number)[]): string => {
    if (value.includes('\u0000')) {
      throw new Refusal({ path: pathOf(path), code: 'invalid_character', message: 'contains a NUL character' });
    }
    count(value.length + 2, path);
    return value;
  };

  const copy = (value: unknown, path: (string | number)[], depth: number): unknown => {
    switch (typeof value) {
      case 'string':
        return text(value, path);
      case 'number':
        count(8, path);
        return Number.isFinite(value) ? value : null;
      case 'boolean':
        count(5, path);
        return value;
      case 'undefined':
      case 'function':
        return undefined;
      case 'bigint':
      case 'symbol':
        throw new Refusal({ path: pathOf(path), code: 'invalid_type', message: `a ${typeof value} is not JSON` });
    }
    if (value === null) {
      count(4, path);
      return null;
    }
    const object = value as object;
    if (depth >= maxDepth) {
      throw new Refusal({ path: pathOf(path), code: 'too_deep', message: `nested deeper than ${maxDepth} levels` });
    }
    if (seen.has(object)) throw new Refusal({ path: pathOf(path), code: 'circular', message: 'refers to itself' });
    seen.add(object);
    try {
      // What JSON.stringify would send: a Date's text, an SDK CloudEvent's attributes (the `cloudevents` package's
      // class instances are frozen and answer toJSON() with a plain object).
      if (typeof (object as { toJSON?: unknown }).toJSON === 'function') {
        let json: unknown;
        try {
          json = (object as { toJSON(): unknown }).toJSON();
        } catch (error) {
          const message = error instanceof Error ? error.message : 'unreadable';
          throw new Refusal({
            path: pathOf(path),
            code: 'unreadable',
            message: `toJSON() failed: ${message.slice(0, 200)}`,
          });
        }
        if (json !== object) return copy(json, path, depth);
      }
      if (Array.isArray(object)) {
        count(2, path);
        const out: unknown[] = [];
        for (let i = 0; i < object.length; i++) {
          path.push(i);
          const item = copy(object[i], path, depth + 1);
          path.pop();
          out.push(item === undefined ? null : item);
          count(1, path);
        }
        return out;
      }
      count(2, path);
      const out: Record<string, unknown> = {};
      for (const key of Object.keys(object)) {
        path.push(key);
        text(key, path);
        const item = copy((object as Record<string, unknown>)[key], path, depth + 1);
        path.pop();
        if (item !== undefined) {
          // defineProperty, not assignment: a key named __proto__ stays data and never reaches a prototype.
          Object.defineProperty(out, key, { value: item, enumerable: true, writable: true, configurable: true });
        }
        count(2, path);
      }
      return out;
    } finally {
      seen.delete(object);
    }
  };

  try {
    return { ok: true, value: copy(source, [], 0) };
  } catch (error) {
    if (error instanceof Refusal) return { ok: false, issues: [error.issue] };
    if (error instanceof RangeError) {
      return { ok: false, issues: [{ path: '', code: 'too_deep', message: 'nested too deeply to read' }] };
    }
    const message = error instanceof Error ? error.message : 'unreadable';
    return {
      ok: false,
      issues: [{ path: '', code: 'unreadable', message: `could not be read: ${message.slice(0, 200)}` }],
    };
  }
}
