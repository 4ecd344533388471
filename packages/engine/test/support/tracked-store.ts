import type { Store } from '@idrelay/core';

/**
 * Wraps a store so a test with fake timers can wait for its real I/O: fake time does not move a PostgreSQL round
 * trip along, so after advancing the clock the test waits until no store call is in flight (checked on real
 * `setImmediate` turns, never by sleeping a fixed time).
 */
export function trackStore(store: Store): { store: Store; quiet(): Promise<void> } {
  let inFlight = 0;
  const wrap = <T extends object>(port: T): T =>
    new Proxy(port, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver) as unknown;
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          inFlight++;
          const result = (value as (...a: unknown[]) => unknown).apply(target, args);
          return Promise.resolve(result).finally(() => {
            inFlight--;
          });
        };
      },
    });
  const ports = [
    'events',
    'devices',
    'preferences',
    'outbox',
    'outgoing',
    'actionTokens',
    'flows',
    'timers',
    'digests',
    'audit',
    'retention',
  ] as const;
  const tracked = Object.create(store) as Store;
  for (const name of ports) Object.defineProperty(tracked, name, { value: wrap(store[name]) });
  const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
  return {
    store: tracked,
    async quiet() {
      // Quiet for several turns in a row: a settled call may start the next one a microtask later.
      for (let calm = 0, turns = 0; calm < 5 && turns < 100_000; turns++) {
        await turn();
        calm = inFlight === 0 ? calm + 1 : 0;
      }
    },
  };
}
