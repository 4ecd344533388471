import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from './codes.js';
import { IdrelayError, isIdrelayError } from './idrelay-error.js';
import { isErrorCode } from './registry.js';

describe('IdrelayError', () => {
  it('carries name, code, message, details and cause', () => {
    const cause = new Error('ECONNREFUSED');
    const error = new IdrelayError('ERR_STORE_UNAVAILABLE', 'Database down', { cause, details: { host: 'db' } });
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('IdrelayError');
    expect(error.code).toBe('ERR_STORE_UNAVAILABLE');
    expect(error.cause).toBe(cause);
    expect(error.details).toEqual({ host: 'db' });
    expect(error.stack).toContain('errors.test.ts');
    expect(error.toJSON()).toEqual({
      name: 'IdrelayError',
      code: 'ERR_STORE_UNAVAILABLE',
      message: 'Database down',
      details: { host: 'db' },
      cause: 'ECONNREFUSED',
    });
  });

  it('narrows by code', () => {
    const error: unknown = new IdrelayError('ERR_EVENT_INVALID', 'bad');
    expect(isIdrelayError(error)).toBe(true);
    expect(isIdrelayError(error, 'ERR_EVENT_INVALID')).toBe(true);
    expect(isIdrelayError(error, 'ERR_RELAY_CLOSED')).toBe(false);
    expect(isIdrelayError(new Error('plain'))).toBe(false);
    expect(isIdrelayError({ code: 'ERR_EVENT_INVALID', name: 'IdrelayError' })).toBe(false);
  });

  it('recognises an IdrelayError from a duplicate copy of the package', () => {
    const foreign = Object.assign(new Error('x'), { name: 'IdrelayError', code: 'ERR_EVENT_INVALID' });
    expect(isIdrelayError(foreign, 'ERR_EVENT_INVALID')).toBe(true);
  });

  it('has namespaced, documented codes only', () => {
    for (const [code, meaning] of Object.entries(ERROR_CODES)) {
      expect(code).toMatch(/^ERR_[A-Z0-9]+(_[A-Z0-9]+)+$/);
      expect(meaning.length).toBeGreaterThan(10);
      expect(isErrorCode(code)).toBe(true);
    }
    expect(isErrorCode('ERR_NOPE')).toBe(false);
    expect(isErrorCode('toString')).toBe(false);
  });
});
