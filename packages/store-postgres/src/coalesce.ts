interface Waiting<R> {
  key: string;
  resolve: (row: R | undefined) => void;
  reject: (error: unknown) => void;
}

/** Most keys one coalesced query asks for; a longer queue is read by several queries in turn. */
const MAX_KEYS = 1_000;

/**
 * Coalesces point reads of one kind: a read that arrives while another of its kind is in flight waits for it, then
 * goes with every other waiting key in one query (`WHERE id = ANY($1)`). Under load, many callers share one round
 * trip (a statement costs a socket write and a wake-up of the server, which dominates a primary-key lookup); a lone
 * caller goes at once and waits for nothing.
 *
 * A read never joins a query already sent, so it sees every write that completed before it was called.
 *
 * @param readMany Reads the rows of `keys` (distinct) and returns them by key; a key without a row is left out.
 * @param toValue Builds each caller's own value from the row (two callers of one key never share an object).
 */
export function coalesceReads<R, T>(
  readMany: (keys: string[]) => Promise<Map<string, R>>,
  toValue: (row: R) => T,
): (key: string) => Promise<T | undefined> {
  let queue: Waiting<R>[] = [];
  let reading = false;

  const drain = async (): Promise<void> => {
    reading = true;
    try {
      while (queue.length > 0) {
        const batch = queue.length <= MAX_KEYS ? queue : queue.slice(0, MAX_KEYS);
        queue = queue.length <= MAX_KEYS ? [] : queue.slice(MAX_KEYS);
        try {
          const rows = await readMany([...new Set(batch.map((w) => w.key))]);
          for (const waiting of batch) waiting.resolve(rows.get(waiting.key));
        } catch (error) {
          for (const waiting of batch) waiting.reject(error);
        }
      }
    } finally {
      reading = false;
    }
  };

  return (key) =>
    new Promise<R | undefined>((resolve, reject) => {
      queue.push({ key, resolve, reject });
      if (!reading) void drain();
    }).then((row) => (row === undefined ? undefined : toValue(row)));
}
