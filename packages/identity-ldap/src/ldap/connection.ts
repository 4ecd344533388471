import type { ConnectionOptions } from 'node:tls';
import { IdrelayError } from '@idrelay/core';
import { Client, type ClientOptions, type Entry, type SearchOptions } from 'ldapts';
import { ldapError, resultCode } from '../errors.js';

/** How to reach and authenticate to the directory server. */
export interface LdapConnectionOptions {
  /** `ldap://host:port` (add `startTLS: true` off loopback) or `ldaps://host:port`. */
  url: string;
  /** DN to bind as; omit for an anonymous connection. */
  bindDN?: string;
  /** Bind password, or a function returning it (read at every (re)connect, so a rotated secret is picked up). */
  password?: string | (() => string | Promise<string>);
  /** Upgrade an `ldap://` connection with StartTLS (RFC 4511 §4.14) before binding. */
  startTLS?: boolean;
  /** TLS options for `ldaps://` and StartTLS: `ca` for a private CA, `servername` … Verification stays on. */
  tls?: ConnectionOptions;
  /** TCP connect timeout. Default 5,000 ms. */
  connectTimeoutMs?: number;
  /** Timeout of each LDAP operation. Default 30,000 ms. */
  timeoutMs?: number;
  /**
   * Allow a bind password over plain `ldap://` to a host other than loopback. Default false: such a
   * configuration is refused with `ERR_LDAP_CONFIG`, since the password would cross the network in clear text.
   */
  allowInsecure?: boolean;
  /** Creates the ldapts client; for tests and custom sockets. */
  createClient?: (options: ClientOptions) => Client;
}

/** One shared, lazily (re)connected and bound LDAP connection; operations are multiplexed over it. */
export interface LdapConnection {
  /** Runs `operation` on a bound client; on a dropped connection it reconnects and retries once. */
  run<T>(action: string, operation: (client: Client) => Promise<T>): Promise<T>;
  /** Searches, returning every entry (paged under the hood). */
  search(base: string, options: SearchOptions): Promise<Entry[]>;
  /** Streams a paged search one page at a time. */
  pages(base: string, options: SearchOptions & { pageSize?: number }, signal?: AbortSignal): AsyncIterable<Entry[]>;
  /** Unbinds and closes the socket. */
  close(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

/** Validates connection options: an LDAP URL, and no clear-text password off loopback unless allowed. */
export function checkConnectionOptions(options: LdapConnectionOptions): URL {
  let url: URL;
  try {
    url = new URL(options.url);
  } catch (cause) {
    throw new IdrelayError('ERR_LDAP_CONFIG', `"${options.url}" is not an LDAP URL`, { cause });
  }
  if (url.protocol !== 'ldap:' && url.protocol !== 'ldaps:') {
    throw new IdrelayError('ERR_LDAP_CONFIG', `url must be ldap:// or ldaps://, not ${url.protocol}//`);
  }
  if (options.startTLS && url.protocol === 'ldaps:') {
    throw new IdrelayError('ERR_LDAP_CONFIG', 'startTLS applies to ldap:// only; ldaps:// is already TLS');
  }
  const clear = url.protocol === 'ldap:' && !options.startTLS;
  if (clear && options.password !== undefined && !options.allowInsecure && !LOOPBACK.has(url.hostname)) {
    throw new IdrelayError(
      'ERR_LDAP_CONFIG',
      `Refusing to send a bind password in clear text to ${url.hostname}: use ldaps://, startTLS: true, or allowInsecure`,
    );
  }
  if ((options.bindDN === undefined) !== (options.password === undefined)) {
    throw new IdrelayError('ERR_LDAP_CONFIG', 'bindDN and password go together');
  }
  return url;
}

function isConnectionFailure(error: unknown): boolean {
  return resultCode(error) === undefined && !(error instanceof IdrelayError);
}

/**
 * Opens a {@link LdapConnection}. Nothing connects until the first operation; a dropped connection (idle
 * timeout, server restart) is re-established, re-secured with StartTLS and re-bound on the next operation.
 *
 * @throws {IdrelayError} `ERR_LDAP_CONFIG` for a bad URL or an unsafe combination of options.
 * @example
 * ```ts
 * const connection = createLdapConnection({ url: 'ldaps://ldap.example.com', bindDN, password });
 * const entries = await connection.search('ou=people,dc=example,dc=com', { filter: '(uid=alice)' });
 * ```
 */
export function createLdapConnection(options: LdapConnectionOptions): LdapConnection {
  checkConnectionOptions(options);
  const factory = options.createClient ?? ((clientOptions: ClientOptions) => new Client(clientOptions));
  let current: Promise<Client> | undefined;
  let closed = false;

  async function open(): Promise<Client> {
    const client = factory({
      url: options.url,
      connectTimeout: options.connectTimeoutMs ?? 5000,
      timeout: options.timeoutMs ?? 30_000,
      // ldapts treats tlsOptions on an ldap:// client as a TLS socket from the start, which breaks StartTLS.
      ...(options.tls && options.url.startsWith('ldaps:') ? { tlsOptions: options.tls } : {}),
    });
    try {
      if (options.startTLS) await client.startTLS(options.tls ?? {});
      if (options.bindDN !== undefined && options.password !== undefined) {
        const password = typeof options.password === 'function' ? await options.password() : options.password;
        await client.bind(options.bindDN, password);
      }
      return client;
    } catch (error) {
      await client.unbind().catch(() => undefined);
      throw ldapError(error, `Connecting to ${options.url}`);
    }
  }

  async function client(): Promise<Client> {
    if (closed) throw new IdrelayError('ERR_LDAP_CONNECT', 'The LDAP connection was closed');
    if (current) {
      const existing = await current.catch(() => undefined);
      if (existing?.isConnected && (options.bindDN === undefined || existing.isBound)) return existing;
      if (existing) await existing.unbind().catch(() => undefined);
      current = undefined;
    }
    current ??= open();
    const opened = current;
    opened.catch(() => {
      if (current === opened) current = undefined;
    });
    return await opened;
  }

  const idle: Client[] = [];
  const streams = new Set<Client>();

  async function acquire(): Promise<Client> {
    if (closed) throw new IdrelayError('ERR_LDAP_CONNECT', 'The LDAP connection was closed');
    while (idle.length > 0) {
      const c = idle.pop()!;
      if (c.isConnected && (options.bindDN === undefined || c.isBound)) return c;
      streams.delete(c);
      await c.unbind().catch(() => undefined);
    }
    const c = await open();
    streams.add(c);
    return c;
  }

  async function release(c: Client, healthy: boolean): Promise<void> {
    // A stream stopped early leaves its paged search open on the server; that socket is closed, not reused.
    if (!closed && healthy && c.isConnected && idle.length < 4) {
      idle.push(c);
      return;
    }
    streams.delete(c);
    await c.unbind().catch(() => undefined);
  }

  async function run<T>(action: string, operation: (client: Client) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const c = await client();
      try {
        return await operation(c);
      } catch (error) {
        if (attempt === 0 && isConnectionFailure(error) && !c.isConnected) {
          current = undefined;
          continue;
        }
        throw ldapError(error, action);
      }
    }
  }

  return {
    run,
    // Not paged: OpenLDAP keeps one paged-results state per connection, so a paged search here would break a
    // paged stream running on the same socket. Callers keep these results small (lookups, batches of ids).
    search: (base, searchOptions) =>
      run(`Searching ${base}`, async (c) => {
        const { searchEntries } = await c.search(base, searchOptions);
        return searchEntries;
      }),
    async *pages(base, searchOptions, signal) {
      const { pageSize = 500, ...rest } = searchOptions;
      // Each concurrent paged stream gets a socket of its own (see `search`); idle ones are kept for reuse.
      const c = await acquire();
      const iterator = c.searchPaginated(base, { ...rest, paged: { pageSize } });
      let healthy = false;
      try {
        while (true) {
          signal?.throwIfAborted();
          let next: IteratorResult<{ searchEntries: Entry[] }>;
          try {
            next = await iterator.next();
          } catch (error) {
            throw ldapError(error, `Searching ${base}`);
          }
          if (next.done) {
            healthy = true;
            return;
          }
          yield next.value.searchEntries;
        }
      } finally {
        await iterator.return?.(undefined).catch(() => undefined);
        await release(c, healthy);
      }
    },
    async close() {
      closed = true;
      await Promise.all([...streams].map((c) => c.unbind().catch(() => undefined)));
      streams.clear();
      idle.length = 0;
      const c = await current?.catch(() => undefined);
      current = undefined;
      await c?.unbind().catch(() => undefined);
    },
  };
}

/** Values of an attribute of an entry, matched case-insensitively, always as an array of strings. */
export function values(entry: Entry, name: string): string[] {
  let value = entry[name];
  if (value === undefined) {
    // Servers answer with the schema's spelling of a name, which may differ in case from the one asked for.
    const lower = name.toLowerCase();
    const key = Object.keys(entry).find((k) => k.toLowerCase() === lower);
    value = key === undefined ? undefined : entry[key];
  }
  if (value === undefined) return [];
  if (typeof value === 'string') return [value];
  if (Buffer.isBuffer(value)) return [value.toString('utf8')];
  return value.map((v) => (Buffer.isBuffer(v) ? v.toString('utf8') : v));
}

/** The first value of an attribute, if any. */
export function first(entry: Entry, name: string): string | undefined {
  return values(entry, name)[0];
}
