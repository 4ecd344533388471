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

/** The runtime's own `setImmediate`, taken before any test installs fake timers over it. */
const realSetImmediate = globalThis.setImmediate;

/** A cooperative time slice from {@link createTimeSlice}. */
export interface TimeSlice {
  /** Called by bulk work before each store call: returns at once, or after a turn of the event loop. */
  (): Promise<void>;
  /**
   * Marks urgent work (an ingest, an express batch) starting now: until the current turn of the event loop ends,
   * bulk work that reaches its next slice waits, so the urgent chain's steps do not alternate with bulk steps.
   */
  urgent(): void;
}

/**
 * Cooperative time slices for one relay. With a synchronous store (SQLite) a fan-out never waits on I/O: its
 * pages, claims, sends and settles would chain through microtasks for seconds, and a sign-in verification that
 * arrives meanwhile would have each of its own steps queued behind a step of the fan-out. Bulk work calls the
 * returned function before each store call; once a run of work has lasted `budgetMs` it moves on in a new turn of
 * the event loop, and while urgent work runs (see {@link TimeSlice.urgent}) it waits for that turn to end. A
 * verification — which starts in its own turn (a request, a timer) and, on a synchronous store, runs to the push
 * as microtasks — then finds at most one bulk step ahead of it per bulk chain. A pause between calls longer than
 * the budget (the relay waited on I/O or was idle) starts a new run, so light work never yields.
 *
 * @example
 * ```ts
 * const slice = createTimeSlice();
 * for await (const page of pages) { await slice(); await write(page); }
 * ```
 */
export function createTimeSlice(budgetMs = 1): TimeSlice {
  let since = performance.now();
  let last = since;
  let holding = false;
  const turn = () => new Promise<void>((resolve) => realSetImmediate(resolve));
  const slice = (async () => {
    const now = performance.now();
    if (now - last > budgetMs * 4) since = now;
    last = now;
    if (!holding && now - since < budgetMs) return;
    // Urgent work holds this turn: a new turn starts after it (setImmediate runs after the current macrotask).
    await turn();
    since = performance.now();
    last = since;
  }) as TimeSlice;
  slice.urgent = () => {
    if (holding) return;
    holding = true;
    realSetImmediate(() => {
      holding = false;
    });
  };
  return slice;
}
