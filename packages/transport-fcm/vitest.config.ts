import { defineProject } from 'vitest/config';

export default defineProject({
  ssr: { resolve: { conditions: ['@idrelay/source'] } },
  test: {
    name: 'transport-fcm',
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // The integration tests load firebase-admin and make RSA keys; on the shared 2-core CI box under load a
    // cold start has taken seconds. A longer ceiling, not a sleep: passing tests finish in milliseconds.
    testTimeout: 15_000,
  },
});
