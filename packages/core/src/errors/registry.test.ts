import { describe, expect, it } from 'vitest';
import { CORE_ERRORS, ERROR_CODES, type ErrorInfo } from './codes.js';
import { IdrelayError, isIdrelayError } from './idrelay-error.js';
import { errorInfo, isErrorCode, registerErrorCodes } from './registry.js';

// A partner's codes, declared to the type system the way a connector package would.
declare module './codes.js' {
  interface ErrorCodeRegistry {
    ERR_TESTPARTNER_BIND_FAILED: ErrorInfo;
  }
}

const bindFailed = { status: 502, retryable: true, message: 'The test partner refused the bind.' } as const;

describe('error codes with status and retryability', () => {
  it('gives every idrelay code an HTTP error status and a retryability, and keeps ERROR_CODES as code → message', () => {
    for (const [code, info] of Object.entries(CORE_ERRORS)) {
      expect(info.status, code).toBeGreaterThanOrEqual(400);
      expect(info.status, code).toBeLessThanOrEqual(599);
      expect(errorInfo(code)).toEqual(info);
      expect(ERROR_CODES[code as keyof typeof ERROR_CODES]).toBe(info.message);
    }
    expect(errorInfo('ERR_EVENT_INVALID')).toEqual({
      status: 400,
      retryable: false,
      message: expect.stringContaining('failed validation'),
    });
    expect(errorInfo('ERR_APNS_RATE_LIMITED')).toMatchObject({ status: 429, retryable: true });
    expect(errorInfo('ERR_STORE_UNAVAILABLE')).toMatchObject({ status: 503, retryable: true });
    expect(errorInfo('ERR_NOPE')).toBeUndefined();
  });

  it('marks throttling, outages and timeouts retryable, and a 429/503/504 is never final', () => {
    for (const [code, info] of Object.entries(CORE_ERRORS)) {
      if ([429, 503, 504].includes(info.status)) expect(info.retryable, code).toBe(true);
      if (/_(RATE_LIMITED|SERVICE_UNAVAILABLE|TIMEOUT|NETWORK)$/.test(code)) expect(info.retryable, code).toBe(true);
      if (/_(INVALID|TOO_LARGE|GONE|UNREGISTERED)$/.test(code)) expect(info.retryable, code).toBe(false);
    }
  });
});

describe('registerErrorCodes', () => {
  it('adds a partner code that isErrorCode, errorInfo and IdrelayError then accept', () => {
    expect(isErrorCode('ERR_TESTPARTNER_BIND_FAILED')).toBe(false);
    registerErrorCodes({ ERR_TESTPARTNER_BIND_FAILED: bindFailed });
    expect(isErrorCode('ERR_TESTPARTNER_BIND_FAILED')).toBe(true);
    expect(errorInfo('ERR_TESTPARTNER_BIND_FAILED')).toEqual(bindFailed);
    const error = new IdrelayError('ERR_TESTPARTNER_BIND_FAILED', 'bind as cn=relay failed');
    expect(isIdrelayError(error, 'ERR_TESTPARTNER_BIND_FAILED')).toBe(true);
    // The same definition again is a no-op, so a module can register on import.
    expect(() => registerErrorCodes({ ERR_TESTPARTNER_BIND_FAILED: { ...bindFailed } })).not.toThrow();
  });

  it('refuses to redefine a code differently, and then registers nothing of the call', () => {
    registerErrorCodes({ ERR_TESTPARTNER_BIND_FAILED: bindFailed });
    const attempt = () =>
      registerErrorCodes({
        ERR_TESTPARTNER_OTHER: { status: 500, retryable: false, message: 'Another partner failure.' },
        ERR_TESTPARTNER_BIND_FAILED: { ...bindFailed, retryable: false },
      });
    expect(attempt).toThrow(
      expect.objectContaining({
        code: 'ERR_INVALID_ARGUMENT',
        details: expect.objectContaining({ code: 'ERR_TESTPARTNER_BIND_FAILED' }),
      }),
    );
    expect(isErrorCode('ERR_TESTPARTNER_OTHER')).toBe(false);
    expect(errorInfo('ERR_TESTPARTNER_BIND_FAILED')).toEqual(bindFailed);
    expect(() =>
      registerErrorCodes({ ERR_EVENT_INVALID: { status: 422, retryable: false, message: 'Invalid event.' } }),
    ).toThrow(/already defined differently/);
    expect(errorInfo('ERR_EVENT_INVALID')?.status).toBe(400);
    // Repeating an idrelay code exactly is allowed (and changes nothing).
    expect(() => registerErrorCodes({ ERR_EVENT_INVALID: CORE_ERRORS.ERR_EVENT_INVALID })).not.toThrow();
  });

  it('refuses malformed codes with a message that says what is expected', () => {
    const cases: Array<[string, unknown, RegExp]> = [
      ['err_lower_case', bindFailed, /ERR_AREA_NAME/],
      ['ERR_NOAREA', bindFailed, /ERR_AREA_NAME/],
      ['ERR_TESTPARTNER_OK', { ...bindFailed, status: 200 }, /400–599/],
      ['ERR_TESTPARTNER_FRACTION', { ...bindFailed, status: 450.5 }, /400–599/],
      ['ERR_TESTPARTNER_FLAG', { ...bindFailed, retryable: 'yes' }, /boolean retryable/],
      ['ERR_TESTPARTNER_SILENT', { ...bindFailed, message: ' ' }, /message/],
      ['ERR_TESTPARTNER_NULL', null, /needs \{ message, status, retryable \}/],
    ];
    for (const [code, info, message] of cases) {
      expect(() => registerErrorCodes({ [code]: info as ErrorInfo }), code).toThrow(message);
      expect(isErrorCode(code), code).toBe(false);
    }
  });

  it('keeps its own copy: changing the object passed in later changes nothing', () => {
    const info = { status: 503, retryable: true, message: 'The test partner is down.' };
    registerErrorCodes({ ERR_TESTPARTNER_DOWN: info });
    info.status = 400;
    expect(errorInfo('ERR_TESTPARTNER_DOWN')?.status).toBe(503);
  });
});
