/**
 * Runs `work` over `items` with at most `limit` calls in flight and yields each result as soon as it settles
 * (completion order). A consumer that stops early stops new calls; calls already in flight finish unobserved.
 */
export async function* mapConcurrent<T, R>(
  items: Iterable<T>,
  limit: number,
  work: (item: T) => Promise<R>,
  signal?: AbortSignal,
): AsyncGenerator<R> {
  const iterator = items[Symbol.iterator]();
  const inFlight = new Map<number, Promise<{ key: number; result: R }>>();
  let next = 0;
  const launch = (): boolean => {
    const step = iterator.next();
    if (step.done) return false;
    const key = next++;
    const promise = work(step.value).then((result) => ({ key, result }));
    // A rejection is observed when the consumer awaits it; until then keep Node from reporting it as unhandled.
    promise.catch(() => undefined);
    inFlight.set(key, promise);
    return true;
  };
  while (inFlight.size < limit && launch()) {}
  while (inFlight.size > 0) {
    signal?.throwIfAborted();
    const { key, result } = await Promise.race(inFlight.values());
    inFlight.delete(key);
    yield result;
    while (inFlight.size < limit && launch()) {}
  }
}

/** Splits `items` into arrays of at most `size`. */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
