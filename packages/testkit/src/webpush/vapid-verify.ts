import { createPublicKey, type KeyObject, verify } from 'node:crypto';

/** The claims of a verified VAPID token (RFC 8292 §2). */
export interface VapidClaims {
  aud: string;
  exp: number;
  sub: string;
  /** The application server key from `k=`, base64url (65-byte uncompressed P-256 point). */
  publicKey: string;
}

/** The outcome of {@link verifyVapid}: the claims, or the reason a push service would answer 403. */
export type VapidCheck = { ok: true; claims: VapidClaims } | { ok: false; reason: string };

const MAX_EXP_AHEAD_S = 24 * 60 * 60;

/**
 * Verifies an RFC 8292 `Authorization: vapid t=<JWT>, k=<key>` header the way a strict push service does: ES256
 * signature (64-byte r‖s, RFC 7518 §3.4) by the key in `k`, `aud` equal to the push resource's origin, `exp` in the
 * future and at most 24 hours ahead, `sub` a `mailto:` or `https:` URI. `keys` caches parsed public keys.
 *
 * @see https://www.rfc-editor.org/rfc/rfc8292#section-2 and §3 (the `vapid` scheme)
 * @example
 * ```ts
 * const check = verifyVapid(req.headers.authorization, 'https://localhost:8443', Date.now(), new Map());
 * if (!check.ok) res.writeHead(403).end(check.reason);
 * ```
 */
export function verifyVapid(
  authorization: string | undefined,
  origin: string,
  nowMs: number,
  keys: Map<string, KeyObject>,
): VapidCheck {
  if (!authorization) return { ok: false, reason: 'missing Authorization header' };
  const match = /^vapid\s+(.+)$/i.exec(authorization.trim());
  if (!match) return { ok: false, reason: 'Authorization scheme is not "vapid"' };
  const params = new Map<string, string>();
  for (const part of match[1]!.split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) params.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).trim());
  }
  const token = params.get('t');
  const k = params.get('k');
  if (!token || !k) return { ok: false, reason: 'vapid credentials need both t= and k=' };

  let key = keys.get(k);
  if (!key) {
    const raw = Buffer.from(k, 'base64url');
    if (raw.length !== 65 || raw[0] !== 4) return { ok: false, reason: 'k is not a 65-byte uncompressed P-256 key' };
    try {
      key = createPublicKey({
        key: {
          kty: 'EC',
          crv: 'P-256',
          x: raw.subarray(1, 33).toString('base64url'),
          y: raw.subarray(33).toString('base64url'),
        },
        format: 'jwk',
      });
    } catch {
      return { ok: false, reason: 'k is not a point on P-256' };
    }
    keys.set(k, key);
  }

  const parts = token.split('.');
  if (parts.length !== 3) return { ok: false, reason: 'token is not a compact JWS' };
  const [h, p, s] = parts as [string, string, string];
  let header: { alg?: unknown };
  let claims: { aud?: unknown; exp?: unknown; sub?: unknown };
  try {
    header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8'));
    claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
  } catch {
    return { ok: false, reason: 'token header or claims are not JSON' };
  }
  if (header.alg !== 'ES256') return { ok: false, reason: `alg must be ES256, got ${String(header.alg)}` };
  const signature = Buffer.from(s, 'base64url');
  if (signature.length !== 64) return { ok: false, reason: 'ES256 signature must be 64 bytes (r‖s), not DER' };
  const valid = verify('sha256', Buffer.from(`${h}.${p}`), { key, dsaEncoding: 'ieee-p1363' }, signature);
  if (!valid) return { ok: false, reason: 'signature does not verify with k' };

  if (claims.aud !== origin) return { ok: false, reason: `aud must be ${origin}, got ${String(claims.aud)}` };
  const nowS = nowMs / 1000;
  if (typeof claims.exp !== 'number') return { ok: false, reason: 'exp missing' };
  if (claims.exp <= nowS) return { ok: false, reason: 'token expired' };
  if (claims.exp > nowS + MAX_EXP_AHEAD_S) return { ok: false, reason: 'exp more than 24 hours ahead' };
  if (typeof claims.sub !== 'string' || !/^(mailto:\S|https:\/\/\S)/.test(claims.sub)) {
    return { ok: false, reason: 'sub must be a mailto: or https: URI' };
  }
  return { ok: true, claims: { aud: claims.aud, exp: claims.exp, sub: claims.sub, publicKey: k } };
}
