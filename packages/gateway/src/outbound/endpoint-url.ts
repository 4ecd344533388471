import { isIP } from 'node:net';
import { webhookConfigError } from './webhook-errors.js';

/** True for a loopback host: `localhost`, 127.0.0.0/8, `::1` (RFC 6761 §6.3, RFC 1122 §3.2.1.3, RFC 4291 §2.5.3). */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.startsWith('[') ? hostname.slice(1, -1) : hostname;
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) return host === '::1' || /^::ffff:127\./i.test(host);
  return false;
}

/**
 * Checks a webhook endpoint URL: absolute `https` (plain `http` only to a loopback host, or with `allowInsecure`),
 * no user name or password (they would be sent in clear to every redirect and written to logs), no fragment.
 *
 * @throws {IdrelayError} `ERR_WEBHOOK_CONFIG` naming the endpoint.
 * @example
 * ```ts
 * endpointUrl('iam', 'https://iam.example.com/hooks/idrelay'); // URL
 * endpointUrl('iam', 'http://iam.example.com/hooks'); // throws ERR_WEBHOOK_CONFIG
 * ```
 */
export function endpointUrl(name: string, value: unknown, allowInsecure = false): URL {
  if (typeof value !== 'string' && !(value instanceof URL)) throw webhookConfigError(name, 'url must be a string');
  let url: URL;
  try {
    url = new URL(String(value));
  } catch {
    throw webhookConfigError(name, `url is not an absolute URL (${String(value).slice(0, 200)})`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw webhookConfigError(name, `url must be https, not ${url.protocol}`);
  }
  if (url.protocol === 'http:' && !allowInsecure && !isLoopbackHost(url.hostname)) {
    throw webhookConfigError(
      name,
      `url must be https outside loopback (got http://${url.host}); set allowInsecure only on a trusted network`,
    );
  }
  if (url.username !== '' || url.password !== '') {
    throw webhookConfigError(name, 'url must not carry a user name or password; use headers or the signature');
  }
  if (url.hash !== '') throw webhookConfigError(name, 'url must not have a fragment');
  return url;
}
