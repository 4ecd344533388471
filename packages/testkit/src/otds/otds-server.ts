import { setupServer } from 'msw/node';
import { type OtdsHandlersOptions, type OtdsMswHandlers, otdsHandlers } from './otds-handlers.js';

/** An in-memory OTDS intercepting `fetch` in this process, started and stopped by the caller. */
export interface OtdsMockServer extends OtdsMswHandlers {
  /** Starts intercepting; requests to other hosts pass through. */
  listen(): void;
  /** Stops intercepting. */
  close(): void;
}

/**
 * {@link otdsHandlers} wrapped in an msw node server, for scripts and READMEs that do not run their own
 * `setupServer`. Tests that already have an msw server should add `otdsHandlers(...).handlers` to it instead
 * (msw allows one interceptor per process).
 *
 * @example
 * ```ts
 * const otds = createOtdsMockServer({ users: [{ id: 'alice@Users' }] });
 * otds.listen();
 * // … createOtdsClient({ baseUrl: otds.baseUrl, … }) …
 * otds.close();
 * ```
 */
export function createOtdsMockServer(options: OtdsHandlersOptions = {}): OtdsMockServer {
  const mock = otdsHandlers(options);
  const server = setupServer(...mock.handlers);
  return Object.assign(Object.create(mock) as OtdsMswHandlers, {
    listen: () => server.listen({ onUnhandledFrame: 'bypass' }),
    close: () => server.close(),
  }) as OtdsMockServer;
}
