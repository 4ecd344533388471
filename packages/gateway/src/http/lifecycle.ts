import type { AddressInfo } from 'node:net';
import { type ServerType, serve } from '@hono/node-server';
import type { Logger } from '@idrelay/core';
import type { MiddlewareHandler } from 'hono';
import { httpError, problem } from './http-errors.js';

/**
 * Serving and graceful close: a middleware that counts requests in flight and refuses new ones once closing
 * (503 `ERR_HTTP_UNAVAILABLE`, `Connection: close`), `listen()` on `@hono/node-server`, and `close()`, which stops
 * accepting and waits for the requests in flight up to the deadline, then drops the remaining connections.
 */
export function createLifecycle(options: { shutdownTimeoutMs: number; logger: Logger }) {
  let closing = false;
  let inFlight = 0;
  let idle: (() => void) | undefined;
  let closed: Promise<void> | undefined;
  let server: (ServerType & { closeIdleConnections?: () => void; closeAllConnections?: () => void }) | undefined;

  const middleware: MiddlewareHandler = async (c, next) => {
    if (closing) {
      c.res = await problem(httpError('ERR_HTTP_UNAVAILABLE', 'The gateway is shutting down'), {
        connection: 'close',
      });
      return;
    }
    inFlight++;
    try {
      await next();
    } finally {
      inFlight--;
      if (inFlight === 0) idle?.();
    }
  };

  return {
    middleware,

    async listen(
      fetch: (request: Request) => Response | Promise<Response>,
      hostname: string,
      port: number,
    ): Promise<{ url: string; port: number }> {
      if (server) throw httpError('ERR_INVALID_ARGUMENT', 'The gateway is already listening');
      if (closing) throw httpError('ERR_HTTP_UNAVAILABLE', 'The gateway was closed');
      const started = await new Promise<ServerType>((resolve, reject) => {
        const s = serve({ fetch, port, hostname }, () => resolve(s));
        s.once('error', reject);
      });
      server = started;
      const address = started.address() as AddressInfo;
      const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      return { url: `http://${host}:${address.port}`, port: address.port };
    },

    /** Idempotent: a second call gets the first one's promise. */
    close(): Promise<void> {
      closed ??= shutDown();
      return closed;
    },
  };

  async function shutDown(): Promise<void> {
    closing = true;
    const listening = server;
    const stopped = listening
      ? new Promise<void>((resolve) => {
          listening.close(() => resolve());
          listening.closeIdleConnections?.();
        })
      : Promise.resolve();
    const drained =
      inFlight === 0
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            idle = resolve;
          });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), options.shutdownTimeoutMs);
      timer.unref?.();
    });
    const outcome = await Promise.race([Promise.all([drained, stopped]), timeout]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      options.logger.warn(
        { inFlight, deadlineMs: options.shutdownTimeoutMs },
        'requests still in flight at the shutdown deadline',
      );
      listening?.closeAllConnections?.();
    }
    server = undefined;
  }
}
