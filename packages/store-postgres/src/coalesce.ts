interface Waiting<I, O> {
  input: I;
  resolve: (output: O) => void;
  reject: (error: unknown) => void;
}

/** Most calls one coalesced statement serves; a longer queue is served by several statements in turn. */
const MAX_BATCH = 1_000;

/**
 * Coalesces calls of one kind into one statement: a call that arrives while a statement of its kind is in flight
 * waits for it, then goes with every other waiting call in one statement (`WHERE id = ANY($1)`, `FROM unnest(…)`).
 * Under load, many callers share one round trip (a statement costs a socket write and a wake-up of the server,
 * which dominates a primary-key lookup or update); a lone caller goes at once and waits for nothing.
 *
 * A call never joins a statement already sent, so it sees every write that completed before it was called, and
 * its own write is committed when it resolves. When the statement fails, every call it served fails.
 *
 * @param runMany Serves `inputs` in one statement and returns one output per input, in order.
 */
export function coalesce<I, O>(runMany: (inputs: I[]) => Promise<O[]>): (input: I) => Promise<O>;
/**
 * {@link coalesce} whose statements of one busy spell share a session (`session`, e.g. one connection checked out
 * while calls keep coming): the next statement goes out as soon as the last one is answered, without waiting for a
 * connection. `runMany` gets the session. When a statement fails with an error `endsSession` accepts (a lost
 * connection), the session is closed and the calls still waiting go in a new one.
 */
export function coalesce<I, O, S>(
  runMany: (inputs: I[], session: S) => Promise<O[]>,
  options: { session: <T>(use: (session: S) => Promise<T>) => Promise<T>; endsSession: (error: unknown) => boolean },
): (input: I) => Promise<O>;
export function coalesce<I, O, S>(
  runMany: (inputs: I[], session?: S) => Promise<O[]>,
  options?: { session: <T>(use: (session: S) => Promise<T>) => Promise<T>; endsSession: (error: unknown) => boolean },
): (input: I) => Promise<O> {
  let queue: Waiting<I, O>[] = [];
  let running = false;

  /** Serves the queue until it is empty (true) or a statement ended the session (false). */
  const serve = async (session?: S): Promise<boolean> => {
    while (queue.length > 0) {
      const batch = queue.length <= MAX_BATCH ? queue : queue.slice(0, MAX_BATCH);
      queue = queue.length <= MAX_BATCH ? [] : queue.slice(MAX_BATCH);
      try {
        const outputs = await runMany(
          batch.map((w) => w.input),
          session,
        );
        for (const [i, waiting] of batch.entries()) waiting.resolve(outputs[i]!);
      } catch (error) {
        for (const waiting of batch) waiting.reject(error);
        if (options?.endsSession(error)) return false;
      }
    }
    return true;
  };

  const drain = async (): Promise<void> => {
    running = true;
    try {
      if (options === undefined) {
        await serve();
        return;
      }
      while (queue.length > 0) {
        try {
          await options.session(serve);
        } catch (error) {
          // The session could not start (no connection): the calls waiting now fail with it.
          const failed = queue;
          queue = [];
          for (const waiting of failed) waiting.reject(error);
        }
      }
    } finally {
      running = false;
    }
  };

  return (input) =>
    new Promise<O>((resolve, reject) => {
      queue.push({ input, resolve, reject });
      if (!running) void drain();
    });
}

/**
 * {@link coalesce} for point reads by key: one `WHERE key = ANY($1)` query for the distinct keys waiting.
 *
 * @param readMany Reads the rows of `keys` (distinct) and returns them by key; a key without a row is left out.
 * @param toValue Builds each caller's own value from the row (two callers of one key never share an object).
 */
export function coalesceReads<R, T>(
  readMany: (keys: string[]) => Promise<Map<string, R>>,
  toValue: (row: R) => T,
): (key: string) => Promise<T | undefined> {
  const run = coalesce<string, R | undefined>(async (keys) => {
    const rows = await readMany([...new Set(keys)]);
    return keys.map((key) => rows.get(key));
  });
  return async (key) => {
    const row = await run(key);
    return row === undefined ? undefined : toValue(row);
  };
}
