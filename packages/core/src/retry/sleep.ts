/** Timer functions, injectable so a test can drive {@link sleep} with its own scheduler. */
export interface Timers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Options of {@link sleep}. */
export interface SleepOptions {
  /** Ends the wait early: `sleep` then resolves `false`. */
  signal?: AbortSignal | undefined;
  /**
   * Where the timer is set; default the global `setTimeout`/`clearTimeout` (which `vi.useFakeTimers()` replaces).
   * Named `timers`, not `clock`, because idrelay's `Clock` is the `{ now() }` time source.
   */
  timers?: Timers;
}

const globalTimers: Timers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/**
 * Waits `ms`; resolves `true` when the time is up and `false` as soon as `signal` aborts (at once if it already
 * has). Never rejects, so a retry loop reads `if (!(await sleep(delay, { signal }))) return aborted();`, and leaves
 * no timer or abort listener behind either way.
 *
 * @example
 * ```ts
 * if (!(await sleep(backoffDelay(attempt, policy), { signal }))) return aborted();
 * ```
 */
export function sleep(ms: number, options: SleepOptions = {}): Promise<boolean> {
  const { signal } = options;
  const timers = options.timers ?? globalTimers;
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = () => {
      timers.clearTimeout(handle);
      resolve(false);
    };
    const handle = timers.setTimeout(
      () => {
        signal?.removeEventListener('abort', onAbort);
        resolve(true);
      },
      Math.max(0, ms),
    );
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
