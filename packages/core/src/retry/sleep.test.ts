import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { sleep, type Timers } from './sleep.js';

describe('sleep', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('resolves true when the time is up, not before', async () => {
    let done: boolean | undefined;
    void sleep(1000).then((value) => {
      done = value;
    });
    await vi.advanceTimersByTimeAsync(999);
    expect(done).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    expect(done).toBe(true);
  });

  it('resolves false as soon as the signal aborts, and at once for an aborted signal', async () => {
    const controller = new AbortController();
    const slept = sleep(60_000, { signal: controller.signal });
    controller.abort();
    await expect(slept).resolves.toBe(false);
    await expect(sleep(60_000, { signal: AbortSignal.abort() })).resolves.toBe(false);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('leaves no timer or abort listener behind', async () => {
    const controller = new AbortController();
    const remove = vi.spyOn(controller.signal, 'removeEventListener');
    const slept = sleep(10, { signal: controller.signal });
    await vi.advanceTimersByTimeAsync(10);
    await expect(slept).resolves.toBe(true);
    expect(remove).toHaveBeenCalledWith('abort', expect.any(Function));
    expect(vi.getTimerCount()).toBe(0);
  });

  it('sets its timer on injected timers', async () => {
    const pending: Array<() => void> = [];
    const timers: Timers = {
      setTimeout: (callback) => pending.push(callback),
      clearTimeout: vi.fn(),
    };
    const controller = new AbortController();
    const aborted = sleep(5000, { signal: controller.signal, timers });
    controller.abort();
    await expect(aborted).resolves.toBe(false);
    expect(timers.clearTimeout).toHaveBeenCalledWith(1);
    const slept = sleep(5000, { timers });
    pending[1]?.();
    await expect(slept).resolves.toBe(true);
  });
});
