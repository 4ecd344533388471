/**
 * The response-protocol URLs of a gateway at `publicUrl` (docs/protocol.md §1): pass them as
 * `createRelay({ actions: gatewayActionUrls(publicUrl) })` so device proofs name the routes the gateway serves.
 *
 * @example
 * ```ts
 * const relay = createRelay({ store, directory, transports, rules, actions: gatewayActionUrls('https://relay.example.com') });
 * ```
 */
export function gatewayActionUrls(publicUrl: string): { detailsUrl: string; respondUrl: string } {
  const base = publicUrl.replace(/\/+$/, '');
  if (!/^https?:\/\/[^/]/.test(base))
    throw new TypeError(`publicUrl must be an absolute http(s) URL, got ${publicUrl}`);
  return {
    detailsUrl: `${base}/v1/notifications/{notificationId}/details`,
    respondUrl: `${base}/v1/actions`,
  };
}
