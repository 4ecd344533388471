import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Cookies whose value is an opaque id followed by an HMAC-SHA256 over the cookie's name and the id, so a value
 * cannot be forged, altered, or moved from one cookie to another (a login transaction id presented as a session
 * id). Attributes are fixed: `HttpOnly; Secure; SameSite=Lax; Path=/` (RFC 6265bis §4.1.2).
 *
 * @see https://datatracker.ietf.org/doc/html/draft-ietf-httpbis-rfc6265bis#section-4.1
 */
export interface SignedCookies {
  /** `Set-Cookie` value carrying `id` under `name` for `maxAgeSeconds`. */
  serialize(name: string, id: string, maxAgeSeconds: number): string;
  /** `Set-Cookie` value that removes `name`. */
  clear(name: string): string;
  /** The id under `name` in the request's `Cookie` header, or `undefined` when absent or its MAC is wrong. */
  read(request: Request, name: string): string | undefined;
}

const ID = /^[A-Za-z0-9_-]{16,128}$/;

/** Creates {@link SignedCookies} keyed with `secret` (at least 32 bytes). */
export function createSignedCookies(secret: string | Uint8Array): SignedCookies {
  const key = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : Buffer.from(secret);
  if (key.byteLength < 32) throw new TypeError('cookieSecret must be at least 32 bytes');
  const mac = (name: string, id: string) => createHmac('sha256', key).update(`${name}=${id}`).digest();
  const attributes = 'Path=/; HttpOnly; Secure; SameSite=Lax';

  return {
    serialize(name, id, maxAgeSeconds) {
      if (!ID.test(id)) throw new TypeError('a signed cookie id must be 16-128 base64url characters');
      const value = `${id}.${mac(name, id).toString('base64url')}`;
      return `${name}=${value}; Max-Age=${Math.max(0, Math.floor(maxAgeSeconds))}; ${attributes}`;
    },
    clear(name) {
      return `${name}=; Max-Age=0; ${attributes}`;
    },
    read(request, name) {
      const value = readCookie(request.headers.get('cookie'), name);
      if (value === undefined) return undefined;
      const dot = value.indexOf('.');
      const id = value.slice(0, dot);
      if (dot < 0 || !ID.test(id)) return undefined;
      const given = Buffer.from(value.slice(dot + 1), 'base64url');
      const expected = mac(name, id);
      return given.byteLength === expected.byteLength && timingSafeEqual(given, expected) ? id : undefined;
    },
  };
}

/** The first value of cookie `name` in a `Cookie` header (RFC 6265 §5.4 order: most specific path first). */
function readCookie(header: string | null, name: string): string | undefined {
  if (header === null) return undefined;
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=');
    if (eq > 0 && pair.slice(0, eq).trim() === name) return pair.slice(eq + 1).trim();
  }
  return undefined;
}
