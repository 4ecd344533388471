import type { z } from 'zod';
import { IdrelayError } from '../errors/idrelay-error.js';
import { EVENT_CATALOGUE, type EventType, isEventType } from './catalogue/index.js';
import { EnvelopeSchema, type IdentityEvent } from './envelope.js';
import { type EventLimits, guardEventInput } from './guard-input.js';

/** One reason an event failed validation. */
export interface EventIssue {
  /** Dotted path of the failing value, e.g. `data.resource.id`; empty for the event itself. */
  path: string;
  message: string;
  /** zod's issue code (`invalid_type`, `too_small` …). */
  code: string;
}

/** The `details` of an `ERR_EVENT_INVALID` error. */
export interface EventInvalidDetails {
  [key: string]: unknown;
  issues: EventIssue[];
  /** The event `id` and `type`, when they could be read. */
  id?: string;
  type?: string;
}

/** What {@link safeParseEvent} returns. */
export type ParseEventResult =
  | { success: true; event: IdentityEvent }
  | { success: false; error: IdrelayError<'ERR_EVENT_INVALID', EventInvalidDetails> };

function toIssues(error: z.ZodError, prefix: readonly PropertyKey[] = []): EventIssue[] {
  return error.issues.map((issue) => ({
    path: [...prefix, ...issue.path].map(String).join('.'),
    message: issue.message,
    code: issue.code,
  }));
}

/** A short string attribute of hostile input, read without letting a getter or a NUL through. */
function readable(input: unknown, name: 'id' | 'type'): string | undefined {
  try {
    const value = typeof input === 'object' && input !== null ? (input as Record<string, unknown>)[name] : undefined;
    return typeof value === 'string' && value.length <= 512 && !value.includes('\u0000') ? value : undefined;
  } catch {
    return undefined;
  }
}

function invalid(issues: EventIssue[], input: unknown): IdrelayError<'ERR_EVENT_INVALID', EventInvalidDetails> {
  const details: EventInvalidDetails = { issues };
  const id = readable(input, 'id');
  const type = readable(input, 'type');
  if (id !== undefined) details.id = id;
  if (type !== undefined) details.type = type;
  const summary = issues
    .slice(0, 3)
    .map((issue) => `${issue.path || '(event)'}: ${issue.message}`)
    .join('; ');
  return new IdrelayError('ERR_EVENT_INVALID', `Invalid identity event: ${summary}`, { details });
}

/**
 * Validates an unknown value (a parsed JSON body, a JSON string, a queue message) as an identity event without
 * throwing. Before any schema sees it, the input is bounded (`limits`: 256 KB and 32 levels by default) and
 * copied into plain JSON by {@link guardEventInput}: NUL characters, cycles, throwing getters and oversized or
 * over-deep input come back as `ERR_EVENT_INVALID` with an issue each, never as a `RangeError` or `TypeError`.
 *
 * @example
 * ```ts
 * const result = safeParseEvent(body, { maxBytes: 65_536 });
 * if (!result.success) console.log(result.error.details.issues);
 * ```
 */
export function safeParseEvent(input: unknown, limits?: EventLimits): ParseEventResult {
  const guarded = guardEventInput(input, limits);
  if (!guarded.ok)
    return { success: false, error: invalid(guarded.issues, typeof input === 'string' ? undefined : input) };
  const value = guarded.value;
  const envelope = EnvelopeSchema.safeParse(value);
  const issues: EventIssue[] = envelope.success ? [] : toIssues(envelope.error);
  const type = (value as { type?: unknown } | null)?.type;
  if (!isEventType(type)) {
    if (typeof type === 'string' && type.length > 0) {
      issues.push({ path: 'type', message: `unknown event type "${type}"`, code: 'invalid_value' });
    }
    return { success: false, error: invalid(issues, value) };
  }
  const data = EVENT_CATALOGUE[type].data.safeParse((value as { data?: unknown }).data);
  if (!data.success) issues.push(...toIssues(data.error, ['data']));
  if (issues.length > 0 || !envelope.success || !data.success) return { success: false, error: invalid(issues, value) };
  return { success: true, event: { ...envelope.data, type, data: data.data } as IdentityEvent };
}

/**
 * Validates an unknown value as an identity event and returns it typed; narrow on `event.type` for its `data`.
 *
 * @throws {IdrelayError} `ERR_EVENT_INVALID`, whose `details.issues` lists every failing path (envelope and data).
 * @example
 * ```ts
 * const event = parseEvent(await request.json());
 * if (event.type === 'idrelay.auth.verification.requested') console.log(event.data.application.name);
 * ```
 */
export function parseEvent(input: unknown, limits?: EventLimits): IdentityEvent {
  const result = safeParseEvent(input, limits);
  if (!result.success) throw result.error;
  return result.event;
}

/** Like {@link parseEvent}, and also requires the given type. */
export function parseEventOfType<T extends EventType>(type: T, input: unknown): IdentityEvent<T> {
  const event = parseEvent(input);
  if (event.type !== type) {
    throw invalid([{ path: 'type', message: `expected "${type}", got "${event.type}"`, code: 'invalid_value' }], event);
  }
  return event as IdentityEvent<T>;
}
