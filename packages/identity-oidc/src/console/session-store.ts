/**
 * Where console login keeps its server-side state: pending logins (state, nonce, PKCE verifier; single use) and
 * sessions, as JSON strings under opaque keys with an expiry. The default lives in one process's memory; several
 * console processes need a shared one (Redis `SET … PXAT`, `GETDEL`).
 */
export interface ConsoleSessionStore {
  /** Stores `value` under `key` until `expiresAtMs`. */
  set(key: string, value: string, expiresAtMs: number): Promise<void>;
  /** The value under `key`, or `undefined` when absent or expired. */
  get(key: string): Promise<string | undefined>;
  /** Reads and removes `key` in one step, so two callers never both get it (a login transaction is used once). */
  take(key: string): Promise<string | undefined>;
  /** Removes `key`. */
  delete(key: string): Promise<void>;
}

/**
 * Creates the in-process {@link ConsoleSessionStore}: expired entries are dropped when read and swept on writes.
 *
 * @example
 * ```ts
 * const login = createConsoleLogin({ ...options, store: createMemoryConsoleStore() });
 * ```
 */
export function createMemoryConsoleStore(options: { now?: () => number } = {}): ConsoleSessionStore {
  const now = options.now ?? Date.now;
  const entries = new Map<string, { value: string; expiresAtMs: number }>();
  let writes = 0;

  const live = (key: string) => {
    const entry = entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAtMs <= now()) {
      entries.delete(key);
      return undefined;
    }
    return entry.value;
  };

  return {
    async set(key, value, expiresAtMs) {
      // Every 256 writes, drop what has expired, so abandoned logins do not pile up.
      if (++writes % 256 === 0) {
        const at = now();
        for (const [k, entry] of entries) if (entry.expiresAtMs <= at) entries.delete(k);
      }
      entries.set(key, { value, expiresAtMs });
    },
    async get(key) {
      return live(key);
    },
    async take(key) {
      const value = live(key);
      entries.delete(key);
      return value;
    },
    async delete(key) {
      entries.delete(key);
    },
  };
}
