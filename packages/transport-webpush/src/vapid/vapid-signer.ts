import { sign } from 'node:crypto';
import type { Clock } from '@idrelay/core';
import type { ParsedVapidKeys } from './vapid-keys.js';

/** Options of {@link createVapidSigner}. */
export interface VapidSignerOptions {
  keys: ParsedVapidKeys;
  clock: Clock;
  /** Lifetime written into `exp`; at most 24 h (RFC 8292 §2). Default 12 h. */
  expirySeconds?: number;
  /** A token is replaced this long before its `exp`, so no request carries one about to lapse. Default 1 h. */
  refreshBeforeSeconds?: number;
}

/** Produces `Authorization` headers, one cached token per push-service origin. */
export interface VapidSigner {
  /** `vapid t=<JWT>, k=<public key>` for a push resource on `origin` (e.g. `https://fcm.googleapis.com`). */
  authorization(origin: string): string;
  /** How many tokens have been signed since creation (for tests and metrics). */
  readonly signed: number;
}

const HEADER = Buffer.from(JSON.stringify({ typ: 'JWT', alg: 'ES256' })).toString('base64url');
/** Bounds the cache: a sender talks to a handful of push services, so this only guards against odd endpoints. */
const MAX_ORIGINS = 256;

/**
 * Signs RFC 8292 VAPID tokens (ES256 JWS, `aud` = push-service origin, `exp`, `sub`) and caches each per origin
 * until `refreshBeforeSeconds` before it expires. A signature costs tens of µs; a sender pushes to a few origins
 * only, so caching turns VAPID into a map lookup per message.
 *
 * @see https://www.rfc-editor.org/rfc/rfc8292#section-2 (token) and §3 (the `vapid` scheme)
 * @example
 * ```ts
 * const signer = createVapidSigner({ keys: parseVapidKeys(vapid), clock: systemClock });
 * request.setHeader('authorization', signer.authorization('https://updates.push.services.mozilla.com'));
 * ```
 */
export function createVapidSigner(options: VapidSignerOptions): VapidSigner {
  const expiry = Math.min(options.expirySeconds ?? 12 * 3600, 24 * 3600);
  const refreshBefore = Math.min(options.refreshBeforeSeconds ?? 3600, expiry / 2);
  const cache = new Map<string, { header: string; refreshAtMs: number }>();
  const k = options.keys.publicKey;
  let signed = 0;

  return {
    get signed() {
      return signed;
    },
    authorization(origin) {
      const now = options.clock.now();
      const hit = cache.get(origin);
      if (hit && now < hit.refreshAtMs) return hit.header;
      const exp = Math.floor(now / 1000) + expiry;
      const claims = Buffer.from(JSON.stringify({ aud: origin, exp, sub: options.keys.subject })).toString('base64url');
      const input = `${HEADER}.${claims}`;
      const signature = sign('sha256', Buffer.from(input), { key: options.keys.signingKey, dsaEncoding: 'ieee-p1363' });
      const header = `vapid t=${input}.${signature.toString('base64url')}, k=${k}`;
      signed++;
      if (!hit && cache.size >= MAX_ORIGINS) cache.delete(cache.keys().next().value as string);
      cache.set(origin, { header, refreshAtMs: (exp - refreshBefore) * 1000 });
      return header;
    },
  };
}
