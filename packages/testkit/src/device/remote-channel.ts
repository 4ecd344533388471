import { exchange, refusal } from './device-error.js';
import type { PushAddress, PushChannel, WirePush } from './push-channel.js';

type Fetch = (request: Request) => Response | Promise<Response>;

/** Options of {@link remotePushChannel}. */
export interface RemotePushChannelOptions {
  /** Origin of the server that mounts {@link createPushChannelHandler}, e.g. `http://127.0.0.1:8787`. */
  baseUrl: string;
  /** Path the handler is mounted at; default `/sandbox`. */
  prefix?: string;
  /** Default `globalThis.fetch`. */
  fetch?: Fetch;
}

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
  });

const isAddress = (value: unknown): value is PushAddress => {
  const a = value as Record<string, unknown> | null;
  if (typeof a !== 'object' || a === null) return false;
  if (a.platform === 'apns' || a.platform === 'fcm') return typeof a.token === 'string' && a.token.length > 0;
  const s = a.subscription as { endpoint?: unknown } | undefined;
  return a.platform === 'webpush' && typeof s?.endpoint === 'string';
};

const B64URL = /^[A-Za-z0-9_-]+$/;

/**
 * Serves a {@link PushChannel} over HTTP, so a simulated device in another process (`idrelay device listen`) can
 * read the pushes the sandbox stand-ins of `idrelay start` received: `POST <prefix>/webpush/subscriptions` with
 * `{ p256dh, auth }` → 201 `{ endpoint }`, and `POST <prefix>/pushes` with `{ address }` → `{ pushes }` (Web Push
 * bodies base64url, still encrypted). Addresses travel in bodies, never in URLs. For sandboxes only: whoever
 * reaches it reads the action tokens of every sandbox push.
 *
 * @example
 * ```ts
 * const sandbox = createPushChannelHandler(sandboxPushChannel({ apns, fcm, webpush }));
 * serve({ fetch: (r) => (new URL(r.url).pathname.startsWith('/sandbox/') ? sandbox(r) : app.fetch(r)) });
 * ```
 */
export function createPushChannelHandler(
  channel: PushChannel,
  options: { prefix?: string } = {},
): (request: Request) => Promise<Response> {
  const prefix = options.prefix ?? '/sandbox';
  return async (request) => {
    const path = new URL(request.url).pathname;
    if (path !== `${prefix}/pushes` && path !== `${prefix}/webpush/subscriptions`) {
      return json(404, { error: 'not found' });
    }
    if (request.method !== 'POST') return new Response(null, { status: 405, headers: { allow: 'POST' } });
    let body: Record<string, unknown>;
    try {
      body = (await request.json()) as Record<string, unknown>;
      if (typeof body !== 'object' || body === null) throw new TypeError('not an object');
    } catch {
      return json(400, { error: 'expected a JSON object' });
    }
    if (path.endsWith('/pushes')) {
      if (!isAddress(body.address))
        return json(400, { error: 'expected { address: { platform, token | subscription } }' });
      const pushes = await channel.received(body.address);
      return json(200, {
        pushes: pushes.map((p) =>
          p.platform === 'webpush' ? { ...p, body: Buffer.from(p.body).toString('base64url') } : p,
        ),
      });
    }
    const { p256dh, auth } = body;
    if (typeof p256dh !== 'string' || typeof auth !== 'string' || !B64URL.test(p256dh) || !B64URL.test(auth)) {
      return json(400, { error: 'expected { p256dh, auth } in base64url' });
    }
    try {
      return json(201, { endpoint: await channel.subscribeWebPush({ p256dh, auth }) });
    } catch (error) {
      return json(400, { error: (error as Error).message });
    }
  };
}

/**
 * A {@link PushChannel} that reads another process's sandbox through {@link createPushChannelHandler}. Failures
 * throw `DeviceRequestError`: `ERR_DEVICE_UNREACHABLE` without an answer, `ERR_DEVICE_UNEXPECTED_RESPONSE` with
 * the status otherwise (404 when the server runs no sandbox).
 *
 * @example
 * ```ts
 * const channel = remotePushChannel({ baseUrl: 'http://127.0.0.1:8787' });
 * ```
 */
export function remotePushChannel(options: RemotePushChannelOptions): PushChannel {
  const fetcher: Fetch = options.fetch ?? ((request) => globalThis.fetch(request));
  const base = `${options.baseUrl.replace(/\/+$/, '')}${options.prefix ?? '/sandbox'}`;
  const post = async (path: string, body: unknown) => {
    const what = `Reading the sandbox push channel at ${base}${path}`;
    const request = new Request(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const response = await exchange(fetcher, request, what);
    if (!response.ok) throw await refusal(response, what);
    return (await response.json()) as Record<string, unknown>;
  };
  return {
    async subscribeWebPush(keys) {
      const { endpoint } = await post('/webpush/subscriptions', keys);
      if (typeof endpoint !== 'string') throw new TypeError('the sandbox answered without an endpoint');
      return endpoint;
    },
    async received(address) {
      const { pushes } = await post('/pushes', { address });
      if (!Array.isArray(pushes)) throw new TypeError('the sandbox answered without pushes');
      return pushes.map((p: Record<string, unknown>) =>
        p.platform === 'webpush'
          ? ({ ...p, body: new Uint8Array(Buffer.from(String(p.body), 'base64url')) } as WirePush)
          : (p as WirePush),
      );
    },
  };
}
