import { createServer } from 'node:net';

/**
 * A TCP port free on `127.0.0.1` right now (the OS picks it; the probe socket is closed before this resolves). For a
 * server that must know its port before it starts: `slapd`, a gateway whose public URL names its port.
 *
 * @example
 * ```ts
 * const port = await freePort();
 * ```
 */
export async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}
