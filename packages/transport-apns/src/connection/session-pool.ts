import { type ClientHttp2Session, connect } from 'node:http2';

/** Options of {@link createSessionPool}. */
export interface SessionPoolOptions {
  /** `https://api.push.apple.com` (port 443 implied), or a stand-in's `https://localhost:PORT`. */
  origin: string;
  /** Extra trusted CA certificates (PEM), for a stand-in with a self-signed certificate. */
  ca?: string | Buffer | readonly (string | Buffer)[];
  /** Most HTTP/2 connections kept open. */
  connections: number;
  /** Most concurrent streams per connection, further capped by the server's SETTINGS_MAX_CONCURRENT_STREAMS. */
  streamsPerConnection: number;
  /** Most requests in flight across all connections. */
  concurrency: number;
  /** PING interval keeping idle connections open; 0 disables. */
  pingIntervalMs: number;
}

/** One stream slot on one connection, held for the length of a request. */
export interface Lease {
  readonly session: ClientHttp2Session;
  /** Gives the slot back. `authenticated` = the server answered something other than 403 on this connection. */
  release(authenticated: boolean): void;
}

/** A small set of long-lived HTTP/2 connections to one origin, handing out stream slots. */
export interface SessionPool {
  /**
   * Waits for a free slot; rejects with the signal's reason when `signal` aborts first. `high` waiters are served
   * before every `normal` one, each kind first come, first served.
   */
  acquire(signal?: AbortSignal, priority?: 'high' | 'normal'): Promise<Lease>;
  /** Connections currently open. */
  size(): number;
  /** Closes idle connections gracefully and destroys busy ones; pending `acquire`s reject. */
  close(): Promise<void>;
}

interface Entry {
  session: ClientHttp2Session;
  active: number;
  // Apple: "APNs allows only one stream until you post a request with a valid authentication token".
  authenticated: boolean;
  lease: Lease;
}

interface Waiter {
  resolve(lease: Lease): void;
  reject(reason: unknown): void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/**
 * Creates the connection pool behind an APNs transport. Connections open lazily, one more each time every open
 * one is full, up to `connections`; a new connection carries one stream until APNs has accepted a request on it.
 * Idle connections are unref'd, so they never keep the process alive on their own, and pinged so that APNs and
 * middleboxes keep them open (Apple asks providers to keep connections open rather than reconnect per burst).
 * Requests waiting for a slot queue in two lines: `high` (a sign-in verification) before `normal` (a fan-out).
 *
 * @see https://developer.apple.com/documentation/usernotifications/establishing-a-connection-to-apns
 * @example
 * ```ts
 * const pool = createSessionPool({ origin: 'https://api.push.apple.com', connections: 4,
 *   streamsPerConnection: 100, concurrency: 256, pingIntervalMs: 600_000 });
 * const lease = await pool.acquire();
 * ```
 */
export function createSessionPool(options: SessionPoolOptions): SessionPool {
  const entries: Entry[] = [];
  const high: Waiter[] = [];
  const normal: Waiter[] = [];
  let inFlight = 0;
  let closed = false;
  const ca = options.ca === undefined ? undefined : Array.isArray(options.ca) ? [...options.ca] : options.ca;
  const ping =
    options.pingIntervalMs > 0
      ? setInterval(() => {
          for (const entry of entries) if (!entry.session.destroyed) entry.session.ping(() => {});
        }, options.pingIntervalMs).unref()
      : undefined;

  const capacity = (entry: Entry): number => {
    if (!entry.authenticated) return 1;
    const remote = entry.session.remoteSettings.maxConcurrentStreams ?? options.streamsPerConnection;
    return Math.max(1, Math.min(options.streamsPerConnection, remote));
  };

  const remove = (entry: Entry): void => {
    const index = entries.indexOf(entry);
    if (index === -1) return;
    entries.splice(index, 1);
    drain();
  };

  const open = (): Entry => {
    const session = connect(options.origin, { ca: ca as string | Buffer | (string | Buffer)[] | undefined });
    const entry: Entry = {
      session,
      active: 0,
      authenticated: false,
      lease: {
        session,
        release(authenticated) {
          inFlight--;
          entry.active--;
          if (authenticated) entry.authenticated = true;
          if (entry.active === 0 && !session.destroyed) session.unref();
          drain();
        },
      },
    };
    // A dead or draining connection takes no new streams; its in-flight streams fail or finish on their own.
    session.on('error', () => remove(entry));
    session.on('goaway', () => remove(entry));
    session.on('close', () => remove(entry));
    entries.push(entry);
    return entry;
  };

  const take = (): Lease | undefined => {
    if (inFlight >= options.concurrency) return undefined;
    // First fit rather than least loaded: streams packed onto the oldest connection share TLS records and writes
    // (nghttp2 batches frames per session); later connections take the spill-over at high load.
    let best: Entry | undefined;
    for (const entry of entries) {
      if (entry.active < capacity(entry)) {
        best = entry;
        break;
      }
    }
    if (best === undefined) {
      if (entries.length >= options.connections) return undefined;
      best = open();
    }
    if (best.active === 0) best.session.ref();
    best.active++;
    inFlight++;
    return best.lease;
  };

  function drain(): void {
    while (high.length > 0 || normal.length > 0) {
      const lease = take();
      if (lease === undefined) return;
      const waiter = (high.length > 0 ? high : normal).shift()!;
      if (waiter.onAbort !== undefined) waiter.signal?.removeEventListener('abort', waiter.onAbort);
      waiter.resolve(lease);
    }
  }

  return {
    acquire(signal, priority = 'normal') {
      if (closed) return Promise.reject(new Error('pool closed'));
      if (signal?.aborted) return Promise.reject(signal.reason);
      // Only waiters of the same or a higher priority are ahead of this one.
      if (high.length === 0 && (priority === 'high' || normal.length === 0)) {
        const lease = take();
        if (lease !== undefined) return Promise.resolve(lease);
      }
      return new Promise<Lease>((resolve, reject) => {
        const queue = priority === 'high' ? high : normal;
        const waiter: Waiter = { resolve, reject, signal, onAbort: undefined };
        if (signal !== undefined) {
          waiter.onAbort = () => {
            const index = queue.indexOf(waiter);
            if (index !== -1) queue.splice(index, 1);
            reject(signal.reason);
          };
          signal.addEventListener('abort', waiter.onAbort, { once: true });
        }
        queue.push(waiter);
      });
    },
    size: () => entries.length,
    async close() {
      closed = true;
      if (ping !== undefined) clearInterval(ping);
      for (const waiter of [...high.splice(0), ...normal.splice(0)]) waiter.reject(new Error('pool closed'));
      await Promise.all(
        entries.splice(0).map(
          ({ session, active }) =>
            new Promise<void>((resolve) => {
              if (session.destroyed) return resolve();
              session.once('close', () => resolve());
              // An idle session is unref'd. Waiting for its 'close' without a ref would leave close() unsettled in a
              // process with no other handle: Node exits mid-await ("unsettled top-level await", exit code 13).
              session.ref();
              // Busy sessions are destroyed so that close() never waits on a hung request.
              if (active > 0 || session.closed) session.destroy();
              else session.close();
            }),
        ),
      );
    },
  };
}
