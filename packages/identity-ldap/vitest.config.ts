import { defineProject } from 'vitest/config';

export default defineProject({
  ssr: { resolve: { conditions: ['@idrelay/source'] } },
  test: { name: 'identity-ldap', include: ['src/**/*.test.ts', 'test/**/*.test.ts'] },
});
