import { IdrelayError } from '@idrelay/core';
import { type MapSetOptions, mapSet, type SsfSignal } from './map-set.js';
import { createMemoryReplayGuard, type ReplayGuard } from './replay-window.js';
import { createSetVerifier, type SetVerifierOptions } from './verify-set.js';

/** Options shared by the push receiver and the poller: how a SET is verified, mapped and de-duplicated. */
export interface SetIntakeOptions extends SetVerifierOptions, MapSetOptions {
  /**
   * Takes each verified SET — mapped to an identity event, or recorded as `not-mapped`, `stream` or `unknown`.
   * When it throws, the `jti` is released so a redelivery is accepted.
   */
  onSignal: (signal: SsfSignal) => Promise<void> | void;
  /** Where seen `jti`s are kept; default an in-process window ({@link createMemoryReplayGuard}). */
  replay?: ReplayGuard;
}

/** Thrown by an intake when `onSignal` failed: the SET was valid, taking it was not possible. */
export class SignalNotTaken extends Error {
  override readonly name = 'SignalNotTaken';
}

/**
 * One SET in: verify, map, claim its `jti`, hand it to `onSignal`. Refusals throw `IdrelayError` (`ERR_SSF_*`);
 * a failing `onSignal` throws {@link SignalNotTaken} with its error as `cause`, after releasing the `jti`.
 */
export function createSetIntake(options: SetIntakeOptions): (compact: string) => Promise<SsfSignal> {
  if (typeof options.onSignal !== 'function') throw new TypeError('onSignal must be a function');
  const verify = createSetVerifier(options);
  const replay = options.replay ?? createMemoryReplayGuard(options.now ?? Date.now);
  const windowMs = (options.maxIatSkewSeconds ?? 300) * 1000;
  return async (compact) => {
    const claims = await verify(compact);
    const signal = mapSet(claims, options);
    if (!(await replay.claim(claims.iss, claims.jti, claims.iat * 1000 + windowMs))) {
      throw new IdrelayError('ERR_SSF_SET_REPLAYED', `SET ${claims.jti} was already received`);
    }
    try {
      await options.onSignal(signal);
    } catch (error) {
      await replay.release(claims.iss, claims.jti);
      throw new SignalNotTaken(`onSignal failed for SET ${claims.jti}`, { cause: error });
    }
    return signal;
  };
}
