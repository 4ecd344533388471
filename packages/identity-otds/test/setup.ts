import type { Timers } from '@idrelay/core';
import { type OtdsHandlersOptions, type OtdsMswHandlers, otdsHandlers } from '@idrelay/testkit/otds';
import type { RequestHandler } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { createOtdsClient, type OtdsClient, type OtdsClientOptions } from '../src/index.js';

/** One msw server per test file; each test installs its own in-memory OTDS with {@link useOtds}. */
export const server = setupServer();
beforeAll(() => server.listen({ onUnhandledFrame: 'error' }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

/** Timers whose waits end at once, recording what was asked: retries without sleeping. */
export function instantTimers(): Timers & { waits: number[] } {
  const waits: number[] = [];
  return {
    waits,
    setTimeout(callback, ms) {
      // Attempt timeouts are long; backoff waits are what the tests look at.
      if (ms >= 1000 * 60) return setTimeout(callback, ms);
      waits.push(ms);
      return setTimeout(callback, 0);
    },
    clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
  };
}

const suiteHandlers: RequestHandler[] = [];

/** Installs an in-memory OTDS for the current test (removed after it). */
export function useOtds(options: OtdsHandlersOptions = {}): OtdsMswHandlers {
  const otds = otdsHandlers(options);
  server.use(...otds.handlers);
  return otds;
}

/** Installs an in-memory OTDS for the rest of the file (a contract suite's `beforeAll`); give it its own `baseUrl`. */
export function useOtdsForFile(options: OtdsHandlersOptions): OtdsMswHandlers {
  const otds = otdsHandlers(options);
  suiteHandlers.push(...otds.handlers);
  server.resetHandlers(...suiteHandlers);
  return otds;
}

export const TICKET_AUTH = { kind: 'credentials', userName: 'otadmin@otds.admin', password: 'otds-secret' } as const;
export const OAUTH_AUTH = { kind: 'oauth', clientId: 'idrelay', clientSecret: 'client-secret' } as const;

export function clientFor(otds: OtdsMswHandlers, options: Partial<OtdsClientOptions> = {}): OtdsClient {
  return createOtdsClient({ baseUrl: otds.baseUrl, auth: TICKET_AUTH, timeoutMs: 120_000, ...options });
}

export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}
