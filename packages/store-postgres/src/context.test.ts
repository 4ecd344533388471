import { isIdrelayError } from '@idrelay/core';
import { describe, expect, it } from 'vitest';
import { isUnavailable, wrapError } from './context.js';

const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });

describe('driver errors at the boundary', () => {
  it('calls socket failures and connection-class SQLSTATEs unavailable', () => {
    for (const error of [
      withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED'),
      withCode('write EPIPE', 'EPIPE'),
      withCode('terminating connection due to administrator command', '57P01'),
      withCode('password authentication failed for user "relay"', '28P01'),
      withCode('database "relay" does not exist', '3D000'),
      new Error('Connection terminated unexpectedly'),
      new Error('timeout exceeded when trying to connect'),
    ]) {
      expect(isUnavailable(error), error.message).toBe(true);
      expect(isIdrelayError(wrapError(error, 'postgres:test'), 'ERR_STORE_UNAVAILABLE')).toBe(true);
    }
  });

  it('calls a failed statement a query error and keeps its SQLSTATE', () => {
    const error = withCode('duplicate key value violates unique constraint', '23505');
    const wrapped = wrapError(error, 'postgres:test');
    expect(isIdrelayError(wrapped, 'ERR_STORE_QUERY')).toBe(true);
    expect((wrapped as Error).cause).toBe(error);
    expect((wrapped as { details?: unknown }).details).toEqual({ sqlstate: '23505' });
    expect(isUnavailable(withCode('canceling statement due to statement timeout', '57014'))).toBe(false);
  });
});
