import { type EventType, type IdentityEvent, IdrelayError, type WriteBack, type WriteBackResult } from '@idrelay/core';
import '../errors.js';

/** One PATCH operation (RFC 7644 §3.5.2). */
export interface ScimPatchOperation {
  op: 'add' | 'replace' | 'remove';
  path?: string;
  value?: unknown;
}

/** What to change upstream for one event: a PATCH of one user or group. */
export interface ScimWriteBackPlan {
  resource: 'Users' | 'Groups';
  /** The upstream SCIM id. */
  id: string;
  /** 1-100 operations; make them idempotent (`replace`, `add` of members), as the relay retries. */
  operations: readonly ScimPatchOperation[];
}

/** Options of {@link createScimWriteBack}. */
export interface ScimWriteBackOptions {
  /** The upstream service's SCIM base, e.g. `https://otds.example.com/otdstenant/t1/scim/idrelay`. */
  baseUrl: string;
  /** A static bearer token. Give this or `getToken`. */
  token?: string;
  /** A bearer token per call (e.g. OAuth client credentials); a 401 is then retryable, with a fresh token. */
  getToken?: () => Promise<string>;
  /** The outcome event types handed to this write-back, e.g. `['idrelay.notification.acknowledged']`. */
  types: readonly EventType[];
  /** The PATCH for an event, or `undefined` to skip it. Build it from the event's validated data only. */
  map(event: IdentityEvent): ScimWriteBackPlan | undefined;
  /** Name in the outgoing log. Default `scim`. */
  name?: string;
  /** Per-request timeout. Default 10,000 ms. */
  timeoutMs?: number;
  /** The fetch to use (tests, proxies). Default `globalThis.fetch`. */
  fetch?: typeof fetch;
}

const PATCH_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

function failure(
  code:
    | 'ERR_SCIM_UPSTREAM_AUTH_FAILED'
    | 'ERR_SCIM_UPSTREAM_NOT_FOUND'
    | 'ERR_SCIM_UPSTREAM_REFUSED'
    | 'ERR_SCIM_UPSTREAM_UNAVAILABLE',
  reason: string,
  retryable: boolean,
): WriteBackResult {
  return { status: 'failed', code, reason, retryable };
}

function checkPlan(plan: ScimWriteBackPlan): void {
  const bad = (message: string) => new IdrelayError('ERR_INVALID_ARGUMENT', `SCIM write-back plan: ${message}`);
  if (typeof plan !== 'object' || plan === null) throw bad('must be an object');
  if (plan.resource !== 'Users' && plan.resource !== 'Groups') throw bad('resource must be Users or Groups');
  if (typeof plan.id !== 'string' || plan.id === '' || plan.id.length > 512) throw bad('id must be a non-empty string');
  if (!Array.isArray(plan.operations) || plan.operations.length === 0 || plan.operations.length > 100) {
    throw bad('operations must hold 1-100 operations');
  }
  for (const operation of plan.operations) {
    if (!['add', 'replace', 'remove'].includes(operation?.op)) throw bad('op must be add, replace or remove');
    if (operation.path !== undefined && (typeof operation.path !== 'string' || operation.path === '')) {
      throw bad('path must be a non-empty string');
    }
    if (operation.op === 'remove' && operation.path === undefined) throw bad('remove needs a path');
  }
}

/**
 * A `WriteBack` that records outcomes in an upstream SCIM 2.0 service (OTDS, another IdP) with a PATCH of a user's
 * attributes or a group's members (RFC 7644 §3.5.2): e.g. an acknowledgement time in an extension attribute, or
 * an approval adding the user to a group. 2xx is `written`; 408, 429, 5xx, timeouts and network failures are
 * retryable; 400/404/409/412 and other 4xx are permanent; 401/403 is permanent with a static token and retryable
 * with `getToken` (the next attempt takes a fresh token).
 *
 * @example
 * ```ts
 * const writeBack = createScimWriteBack({
 *   baseUrl: 'https://idp.example.com/scim/v2',
 *   getToken: () => credentials.token(),
 *   types: ['idrelay.access.approved'],
 *   map: (event) => ({
 *     resource: 'Groups',
 *     id: 'approvers-group-id',
 *     operations: [{ op: 'add', path: 'members', value: [{ value: (event.data as { userId: string }).userId }] }],
 *   }),
 * });
 * ```
 */
export function createScimWriteBack(options: ScimWriteBackOptions): WriteBack {
  if (options === null || typeof options !== 'object') throw new TypeError('expected an options object');
  let base: URL;
  try {
    base = new URL(options.baseUrl);
  } catch {
    throw new IdrelayError('ERR_INVALID_ARGUMENT', 'createScimWriteBack: baseUrl must be an absolute URL');
  }
  if (base.protocol !== 'https:' && base.hostname !== '127.0.0.1' && base.hostname !== 'localhost') {
    throw new IdrelayError(
      'ERR_INVALID_ARGUMENT',
      'createScimWriteBack: baseUrl must be https (http only on loopback)',
    );
  }
  const { token, getToken } = options;
  if ((token === undefined) === (getToken === undefined)) {
    throw new IdrelayError('ERR_INVALID_ARGUMENT', 'createScimWriteBack: give exactly one of token and getToken');
  }
  if (token !== undefined && (typeof token !== 'string' || !/^[\x21-\x7e]+$/.test(token))) {
    throw new IdrelayError('ERR_INVALID_ARGUMENT', 'createScimWriteBack: token must be printable ASCII');
  }
  if (!Array.isArray(options.types) || options.types.length === 0) {
    throw new IdrelayError('ERR_INVALID_ARGUMENT', 'createScimWriteBack needs at least one event type');
  }
  if (typeof options.map !== 'function') throw new IdrelayError('ERR_INVALID_ARGUMENT', 'map must be a function');
  const timeoutMs = options.timeoutMs ?? 10_000;
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 1)
    throw new IdrelayError('ERR_INVALID_ARGUMENT', 'timeoutMs ≥ 1');
  const doFetch = options.fetch ?? globalThis.fetch;
  const root = base.href.replace(/\/+$/, '');

  return {
    name: options.name ?? 'scim',
    types: [...options.types],
    async write(event, call): Promise<WriteBackResult> {
      if (!options.types.includes(event.type)) return { status: 'skipped', reason: `not handled: ${event.type}` };
      let plan: ScimWriteBackPlan | undefined;
      try {
        plan = options.map(event);
        if (plan !== undefined) checkPlan(plan);
      } catch (error) {
        return failure('ERR_SCIM_UPSTREAM_REFUSED', `map: ${(error as Error).message}`, false);
      }
      if (plan === undefined) return { status: 'skipped', reason: 'no plan for this event' };
      const signals = [AbortSignal.timeout(timeoutMs)];
      if (call?.signal !== undefined) signals.push(call.signal);
      const url = `${root}/${plan.resource}/${encodeURIComponent(plan.id)}`;
      let response: Response;
      try {
        const bearer = token ?? (await (getToken as () => Promise<string>)());
        response = await doFetch(url, {
          method: 'PATCH',
          headers: {
            authorization: `Bearer ${bearer}`,
            'content-type': 'application/scim+json',
            accept: 'application/scim+json',
          },
          body: JSON.stringify({ schemas: [PATCH_SCHEMA], Operations: plan.operations }),
          signal: AbortSignal.any(signals),
          redirect: 'error',
        });
      } catch (error) {
        if (call?.signal?.aborted) throw error;
        return failure('ERR_SCIM_UPSTREAM_UNAVAILABLE', `PATCH ${url}: ${(error as Error).message}`, true);
      }
      const detail = await response
        .text()
        .then((text) => text.slice(0, 512))
        .catch(() => '');
      const status = response.status;
      const where = `PATCH ${plan.resource}/${plan.id} answered ${status}`;
      if (status >= 200 && status < 300) return { status: 'written', reference: `${plan.resource}/${plan.id}` };
      if (status === 401 || status === 403) {
        return failure('ERR_SCIM_UPSTREAM_AUTH_FAILED', `${where}: ${detail}`, getToken !== undefined);
      }
      if (status === 404) return failure('ERR_SCIM_UPSTREAM_NOT_FOUND', `${where}: ${detail}`, false);
      if (status === 408 || status === 429 || status >= 500) {
        return failure('ERR_SCIM_UPSTREAM_UNAVAILABLE', `${where}: ${detail}`, true);
      }
      return failure('ERR_SCIM_UPSTREAM_REFUSED', `${where}: ${detail}`, false);
    },
  };
}
