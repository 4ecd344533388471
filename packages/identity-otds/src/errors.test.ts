import { readFileSync } from 'node:fs';
import { errorInfo, isErrorCode } from '@idrelay/core';
import { describe, expect, it } from 'vitest';
import { OTDS_ERRORS } from './errors.js';

describe('OTDS error codes', () => {
  it('are registered with core, with their status and retryability', () => {
    for (const [code, info] of Object.entries(OTDS_ERRORS)) {
      expect(isErrorCode(code)).toBe(true);
      expect(errorInfo(code)).toEqual(info);
    }
    expect(errorInfo('ERR_OTDS_TIMEOUT')?.retryable).toBe(true);
    expect(errorInfo('ERR_OTDS_AUTH_FAILED')?.retryable).toBe(false);
  });

  it('are each listed in the README with the same retryability, and nothing else is', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const errors = readme.slice(readme.indexOf('## Errors'), readme.indexOf('## Limits'));
    const rows = [...errors.matchAll(/^\| `(ERR_OTDS_[A-Z_]+)` \| (yes|no) \|/gm)].map(([, code, retry]) => [
      code,
      retry,
    ]);
    expect(rows).toEqual(Object.entries(OTDS_ERRORS).map(([code, info]) => [code, info.retryable ? 'yes' : 'no']));
  });
});
