/**
 * Timer functions, injectable so tests drive the relay with `vi.useFakeTimers()` or a hand-made scheduler. The
 * default looks the globals up at call time, so fake timers installed after the relay was created still apply.
 */
export interface Scheduler {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/**
 * The global timers; handles are unref'd so an idle relay never keeps a script alive on its own.
 *
 * @example
 * ```ts
 * const relay = createRelay({ ..., scheduler: globalScheduler });
 * ```
 */
export const globalScheduler: Scheduler = {
  setTimeout(callback, ms) {
    const handle = globalThis.setTimeout(callback, ms) as unknown as { unref?: () => void };
    handle.unref?.();
    return handle;
  },
  clearTimeout(handle) {
    globalThis.clearTimeout(handle as Parameters<typeof clearTimeout>[0]);
  },
};

/**
 * One re-armable wake-up: `arm(at)` keeps the earliest requested time; the callback runs once per arming.
 *
 * @example
 * ```ts
 * const wake = createWake(scheduler, clock, () => pump());
 * wake.arm(clock.now() + 500);
 * ```
 */
export function createWake(scheduler: Scheduler, clock: { now(): number }, callback: () => void) {
  let handle: unknown;
  let at: number | undefined;
  return {
    arm(when: number): void {
      if (at !== undefined && at <= when) return;
      if (at !== undefined) scheduler.clearTimeout(handle);
      at = when;
      handle = scheduler.setTimeout(
        () => {
          at = undefined;
          handle = undefined;
          callback();
        },
        Math.max(0, when - clock.now()),
      );
    },
    clear(): void {
      if (at !== undefined) scheduler.clearTimeout(handle);
      at = undefined;
      handle = undefined;
    },
  };
}
