import { IdrelayError } from '../errors/idrelay-error.js';

/** Longest deep link carried in a push: room for a query string, far below every provider's payload limit. */
export const DEEP_LINK_MAX_LENGTH = 2048;

/**
 * Schemes no configuration can allow: they run script or read local data in a browser or web view
 * (`javascript:`, `data:`, `blob:` …), launch arbitrary Android components (`intent:`), or travel in clear text
 * (`http:`).
 */
const FORBIDDEN = new Set([
  'javascript',
  'vbscript',
  'data',
  'blob',
  'file',
  'filesystem',
  'about',
  'view-source',
  'intent',
  'http',
]);

/** RFC 3986 §3.1: `scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )`. */
const SCHEME = /^[a-z][a-z0-9+.-]*$/;

/** Options of {@link isDeepLink}. */
export interface DeepLinkOptions {
  /** App schemes allowed besides `https` (`['myapp']`); see {@link deepLinkSchemes}. */
  schemes?: readonly string[];
}

/**
 * Checks a configured list of app schemes for deep links and returns it lower-cased. `https` is always allowed
 * and need not be listed.
 *
 * @throws {IdrelayError} `ERR_INVALID_ARGUMENT` for a value that is not an RFC 3986 scheme name (`myapp`, not
 * `myapp://`), or a scheme that can never be a safe deep link (`javascript`, `data`, `http` …).
 * @see https://www.rfc-editor.org/rfc/rfc3986#section-3.1
 * @example
 * ```ts
 * deepLinkSchemes(['MyApp', 'com.example.authenticator']); // ['myapp', 'com.example.authenticator']
 * deepLinkSchemes(['javascript']); // throws ERR_INVALID_ARGUMENT
 * ```
 */
export function deepLinkSchemes(schemes: readonly string[]): string[] {
  if (!Array.isArray(schemes)) {
    throw new IdrelayError('ERR_INVALID_ARGUMENT', 'Deep link schemes must be an array of scheme names', {
      details: {},
    });
  }
  return schemes.map((scheme) => {
    const name = typeof scheme === 'string' ? scheme.toLowerCase() : '';
    if (!SCHEME.test(name)) {
      throw new IdrelayError(
        'ERR_INVALID_ARGUMENT',
        `Deep link scheme ${JSON.stringify(scheme)} is not a scheme name; write it without "://", e.g. "myapp"`,
        { details: { scheme } },
      );
    }
    if (FORBIDDEN.has(name)) {
      throw new IdrelayError('ERR_INVALID_ARGUMENT', `Deep link scheme "${name}" is never allowed in a push`, {
        details: { scheme },
      });
    }
    return name;
  });
}

/** True when `value` holds a C0 control character, a space or DEL (URL parsers strip some, hiding a scheme). */
function hasControlOrSpace(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code <= 0x20 || code === 0x7f) return true;
  }
  return false;
}

/**
 * True when `value` may travel in a push as the link the app opens on tap: an absolute `https:` URL with a host
 * and no credentials, or a URL in one of the app schemes `options.schemes` allows — at most
 * {@link DEEP_LINK_MAX_LENGTH} characters, without spaces or control characters. `javascript:`, `data:`,
 * `http:` and the like are never deep links, whatever the options say.
 *
 * @see https://www.rfc-editor.org/rfc/rfc3986#section-3
 * @example
 * ```ts
 * isDeepLink('https://portal.example.com/password'); // true
 * isDeepLink('myapp://requests/42', { schemes: ['myapp'] }); // true
 * isDeepLink('javascript:alert(1)', { schemes: ['javascript'] }); // false
 * ```
 */
export function isDeepLink(value: unknown, options: DeepLinkOptions = {}): value is string {
  if (typeof value !== 'string' || value.length === 0 || value.length > DEEP_LINK_MAX_LENGTH) return false;
  if (hasControlOrSpace(value)) return false;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  const scheme = url.protocol.slice(0, -1).toLowerCase();
  if (FORBIDDEN.has(scheme)) return false;
  if (scheme === 'https') return url.hostname.length > 0 && url.username === '' && url.password === '';
  return (options.schemes ?? []).some((allowed) => allowed.toLowerCase() === scheme);
}
