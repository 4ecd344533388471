/** An autocannon run as autocannon returns it: a promise of its result that also emits each response. */
export interface CannonRun<R> extends PromiseLike<R> {
  on(event: 'response', listener: () => void): unknown;
}

/**
 * Awaits an autocannon run and times it here, from the call to its last response. autocannon's own `duration`
 * counts until its next once-a-second sampling tick after the last response, so a run of a fixed `amount` reports
 * up to a second more than it took: a third too slow for a 3-second run. Call it right after `autocannon(…)`.
 */
export async function timed<R>(run: CannonRun<R>): Promise<{ result: R; seconds: number }> {
  const started = performance.now();
  let last = started;
  run.on('response', () => {
    last = performance.now();
  });
  const result = await run;
  return { result, seconds: (last - started) / 1000 };
}
