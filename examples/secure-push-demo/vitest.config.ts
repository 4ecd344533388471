import { defineProject } from 'vitest/config';

export default defineProject({
  ssr: { resolve: { conditions: ['@idrelay/source'] } },
  test: { name: 'example-secure-push-demo', include: ['src/**/*.test.ts'] },
});
