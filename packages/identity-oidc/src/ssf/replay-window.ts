/**
 * Remembers SET `jti`s until their `iat` leaves the accepted window, so a replay inside the window is refused and
 * one outside it fails the `iat` check instead. Keys are scoped by issuer (RFC 8417 §2.2: `jti` is unique per
 * issuer).
 */
export interface ReplayGuard {
  /** Claims `jti` of `issuer` until `expiresAtMs`; false when it is already held. */
  claim(issuer: string, jti: string, expiresAtMs: number): boolean | Promise<boolean>;
  /** Gives a claim back (the SET was not taken after all, so a redelivery must be accepted). */
  release(issuer: string, jti: string): void | Promise<void>;
}

/**
 * An in-process {@link ReplayGuard}. Memory grows with the SETs received per window (the `iat` skew either side);
 * expired entries are swept as new ones arrive. Several receiver processes need a shared guard instead.
 */
export function createMemoryReplayGuard(now: () => number = Date.now): ReplayGuard {
  const held = new Map<string, number>();
  let nextSweep = 0;
  const sweep = (at: number) => {
    if (at < nextSweep) return;
    for (const [key, expiresAt] of held) if (expiresAt <= at) held.delete(key);
    nextSweep = at + 1000;
  };
  return {
    claim(issuer, jti, expiresAtMs) {
      const at = now();
      sweep(at);
      const key = `${issuer}\u0000${jti}`;
      const current = held.get(key);
      if (current !== undefined && current > at) return false;
      held.set(key, expiresAtMs);
      return true;
    },
    release(issuer, jti) {
      held.delete(`${issuer}\u0000${jti}`);
    },
  };
}
