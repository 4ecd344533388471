import { IdrelayError, isIdrelayError } from '@idrelay/core';
import { createSetIntake, type SetIntakeOptions, SignalNotTaken } from './intake.js';
import { SET_ERROR_CODES } from './set-errors.js';

/** Options of {@link createSsfPoller}. */
export interface SsfPollerOptions extends SetIntakeOptions {
  /** The transmitter's poll endpoint (the stream's `delivery.endpoint_url` for `urn:ietf:rfc:8936`). */
  endpoint: string | URL;
  /** The `Authorization` header value for each poll, e.g. `` async () => `Bearer ${await credentials.token()}` ``. */
  authorization: () => string | Promise<string>;
  /** `maxEvents` asked for per poll; default 100. */
  maxEvents?: number;
  /** `fetch` for the poll requests; default the global one. */
  fetch?: typeof fetch;
}

/** What one poll did. */
export interface SsfPollResult {
  /** SETs in the answer. */
  received: number;
  /** SETs handed to `onSignal` (acknowledged on the next poll). */
  taken: number;
  /** SETs refused (reported in `setErrs` on the next poll). */
  refused: number;
  /** SETs left for a redelivery because `onSignal` failed (neither acknowledged nor reported). */
  deferred: number;
  /** The transmitter's `moreAvailable`. */
  moreAvailable: boolean;
}

/** An RFC 8936 poll client; see {@link createSsfPoller}. */
export interface SsfPoller {
  /** One poll round: sends the acknowledgements and errors of the previous rounds, takes the SETs returned. */
  poll(options?: { returnImmediately?: boolean; signal?: AbortSignal }): Promise<SsfPollResult>;
}

/**
 * Creates an RFC 8936 poll-delivery client. Each `poll()` POSTs `{ maxEvents, returnImmediately, ack, setErrs }`,
 * verifies and maps every returned SET like the push receiver, and remembers what to acknowledge (taken, or already
 * taken before — a redelivery after a lost acknowledgement) and what to report in `setErrs` (refused, with the
 * RFC 8935 error code) for the next poll. A failed poll keeps them for the one after.
 *
 * @throws {IdrelayError} from `poll()`: `ERR_SSF_POLL_FAILED` (retryable) when the request fails.
 * @see https://www.rfc-editor.org/rfc/rfc8936#section-2
 * @example
 * ```ts
 * const poller = createSsfPoller({ endpoint, issuer, audience, keys, authorization: () => `Bearer ${token}`, onSignal });
 * while ((await poller.poll({ returnImmediately: true })).moreAvailable);
 * ```
 */
export function createSsfPoller(options: SsfPollerOptions): SsfPoller {
  if (typeof options.authorization !== 'function') throw new TypeError('authorization must be a function');
  const intake = createSetIntake(options);
  const endpoint = new URL(options.endpoint);
  const maxEvents = options.maxEvents ?? 100;
  const doFetch = options.fetch ?? fetch;
  const acks = new Set<string>();
  const errs = new Map<string, { err: string; description: string }>();

  return {
    async poll(pollOptions = {}) {
      const ack = [...acks];
      const setErrs = Object.fromEntries(errs);
      const body = {
        maxEvents,
        returnImmediately: pollOptions.returnImmediately ?? false,
        ...(ack.length > 0 ? { ack } : {}),
        ...(errs.size > 0 ? { setErrs } : {}),
      };
      const sets = await request(body, pollOptions.signal);
      // The transmitter has these now; a later failure must not send them twice.
      for (const jti of ack) acks.delete(jti);
      for (const jti of Object.keys(setErrs)) errs.delete(jti);

      const result: SsfPollResult = { received: 0, taken: 0, refused: 0, deferred: 0, moreAvailable: sets.more };
      for (const [jti, compact] of Object.entries(sets.sets)) {
        result.received++;
        try {
          if (typeof compact !== 'string') throw new IdrelayError('ERR_SSF_SET_INVALID', 'A SET must be a string');
          await intake(compact);
          acks.add(jti);
          result.taken++;
        } catch (error) {
          if (error instanceof SignalNotTaken) {
            result.deferred++;
          } else if (isIdrelayError(error, 'ERR_SSF_SET_REPLAYED') && /already received/.test(error.message)) {
            acks.add(jti); // taken in an earlier round whose acknowledgement was lost
            result.taken++;
          } else {
            const code = isIdrelayError(error) ? SET_ERROR_CODES[error.code] : undefined;
            errs.set(jti, { err: code ?? 'invalid_request', description: (error as Error).message });
            result.refused++;
          }
        }
      }
      return result;
    },
  };

  async function request(
    body: object,
    signal?: AbortSignal,
  ): Promise<{ sets: Record<string, unknown>; more: boolean }> {
    let response: Response;
    try {
      response = await doFetch(endpoint, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json',
          authorization: await options.authorization(),
        },
        body: JSON.stringify(body),
        ...(signal ? { signal } : {}),
      });
    } catch (error) {
      throw new IdrelayError('ERR_SSF_POLL_FAILED', `Polling ${endpoint.href} failed`, { cause: error });
    }
    if (response.status !== 200) {
      await response.body?.cancel();
      throw new IdrelayError('ERR_SSF_POLL_FAILED', `Polling ${endpoint.href} answered ${response.status}`, {
        details: { status: response.status },
      });
    }
    const parsed = (await response.json().catch(() => undefined)) as
      | { sets?: unknown; moreAvailable?: unknown }
      | undefined;
    if (parsed === undefined || parsed.sets === null || typeof parsed.sets !== 'object' || Array.isArray(parsed.sets)) {
      throw new IdrelayError('ERR_SSF_POLL_FAILED', 'The poll answer has no `sets` object');
    }
    return { sets: parsed.sets as Record<string, unknown>, more: parsed.moreAvailable === true };
  }
}
