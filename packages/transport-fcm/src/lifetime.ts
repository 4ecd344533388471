/**
 * How long the push service may keep a push, in whole seconds: the smaller of the message's `ttlSeconds` and what
 * is left until the request's `expiresAt`; `undefined` when neither is set. Rounded down, so the service never
 * holds a push past `expiresAt`; under one second left gives 0 ("now or never"). The caller refuses requests whose
 * `expiresAt` has passed before asking.
 *
 * @example
 * ```ts
 * lifetimeSeconds(600, Date.now() + 120_000, Date.now()); // 120
 * lifetimeSeconds(60, undefined, Date.now()); // 60
 * ```
 */
export function lifetimeSeconds(ttlSeconds: number | undefined, expiresAt: number | undefined, nowMs: number) {
  const remaining = expiresAt === undefined ? undefined : Math.max(0, Math.floor((expiresAt - nowMs) / 1000));
  if (ttlSeconds === undefined) return remaining;
  const ttl = Math.max(0, Math.floor(ttlSeconds));
  return remaining === undefined ? ttl : Math.min(ttl, remaining);
}

/** True when `expiresAt` is set and not after `nowMs`: the push must not be sent (`ERR_DELIVERY_EXPIRED`). */
export function hasExpired(expiresAt: number | undefined, nowMs: number): boolean {
  return expiresAt !== undefined && expiresAt <= nowMs;
}
