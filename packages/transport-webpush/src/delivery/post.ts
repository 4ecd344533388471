import { type Agent, request } from 'node:https';

/** What came back from one POST, or why nothing did. */
export type PostOutcome =
  | { ok: true; status: number; location?: string; retryAfter?: string; body: string }
  | { ok: false; code: 'ERR_TRANSPORT_TIMEOUT' | 'ERR_TRANSPORT_NETWORK' | 'ERR_DELIVERY_EXPIRED'; reason: string };

/** One push request: the endpoint, its headers and the encrypted body. */
export interface PostRequest {
  url: URL;
  headers: Record<string, string | number>;
  body: Buffer;
  agent: Agent;
  timeoutMs: number;
  signal?: AbortSignal | undefined;
}

/**
 * POSTs one push message (RFC 8030 §5) over the shared keep-alive agent and resolves — never rejects — with the
 * status or the transport failure. The deadline covers the whole exchange (connect, TLS, answer), not idle time.
 *
 * @see https://www.rfc-editor.org/rfc/rfc8030#section-5
 * @example
 * ```ts
 * const outcome = await postPush({ url, headers, body, agent, timeoutMs: 10_000 });
 * ```
 */
export function postPush(r: PostRequest): Promise<PostOutcome> {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (outcome: PostOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      r.signal?.removeEventListener('abort', onAbort);
      resolve(outcome);
    };
    const req = request(
      {
        protocol: 'https:',
        hostname: r.url.hostname,
        port: r.url.port || 443,
        path: r.url.pathname + r.url.search,
        method: 'POST',
        headers: r.headers,
        agent: r.agent,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => {
          // Error bodies are only kept for the reason text; a misbehaving service cannot make us buffer megabytes.
          if (chunks.length < 16) chunks.push(chunk);
        });
        res.on('end', () => {
          const location = res.headers.location;
          const retryAfter = res.headers['retry-after'];
          finish({
            ok: true,
            status: res.statusCode ?? 0,
            ...(location === undefined ? {} : { location }),
            ...(retryAfter === undefined ? {} : { retryAfter }),
            body: chunks.length === 0 ? '' : Buffer.concat(chunks).toString('utf8'),
          });
        });
        res.on('error', (error) => finish({ ok: false, code: 'ERR_TRANSPORT_NETWORK', reason: error.message }));
      },
    );
    const timer = setTimeout(() => {
      finish({ ok: false, code: 'ERR_TRANSPORT_TIMEOUT', reason: `no answer within ${r.timeoutMs} ms` });
      req.destroy();
    }, r.timeoutMs);
    const onAbort = () => {
      finish({ ok: false, code: 'ERR_TRANSPORT_TIMEOUT', reason: 'aborted by the caller' });
      req.destroy();
    };
    if (r.signal?.aborted) onAbort();
    else r.signal?.addEventListener('abort', onAbort, { once: true });
    req.on('error', (error: NodeJS.ErrnoException) =>
      finish({ ok: false, code: 'ERR_TRANSPORT_NETWORK', reason: error.code ?? error.message }),
    );
    req.end(r.body);
  });
}
