import { IdrelayError } from '@idrelay/core';
import type { OtdsAuth } from './auth.js';
import type { OtdsAttributeValues } from './otds-types.js';

/** Checks on the client's options and arguments, before anything is sent. */

const ID_LIMIT = 1024;
const ATTRIBUTE_NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,127}$/;

/** An `ERR_INVALID_ARGUMENT` error. */
export function argument(message: string): IdrelayError {
  return new IdrelayError('ERR_INVALID_ARGUMENT', message);
}

/** Checks `baseUrl` (absolute, no query or credentials, https unless loopback or allowed) and strips trailing slashes. */
export function checkBaseUrl(value: string, allowInsecureHttp: boolean): string {
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch (cause) {
    throw new IdrelayError('ERR_INVALID_ARGUMENT', `baseUrl must be an absolute URL, got ${JSON.stringify(value)}`, {
      cause,
    });
  }
  if (parsed.search !== '' || parsed.hash !== '' || parsed.username !== '' || parsed.password !== '') {
    throw argument('baseUrl must not carry a query, fragment or credentials');
  }
  const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(parsed.hostname);
  if (parsed.protocol !== 'https:' && !(parsed.protocol === 'http:' && (loopback || allowInsecureHttp))) {
    throw argument('baseUrl must use https: (http: only for loopback or with allowInsecureHttp)');
  }
  return parsed.href.replace(/\/+$/, '');
}

/** Checks the shape of the `auth` option. */
export function checkAuth(auth: OtdsAuth): void {
  if (auth?.kind === 'credentials') {
    if (typeof auth.userName !== 'string' || auth.userName === '' || typeof auth.password !== 'string') {
      throw argument('auth credentials need a userName and a password');
    }
    return;
  }
  if (auth?.kind === 'oauth') {
    if (typeof auth.clientId !== 'string' || auth.clientId === '' || typeof auth.clientSecret !== 'string') {
      throw argument('auth oauth needs a clientId and a clientSecret');
    }
    return;
  }
  throw argument("auth must be { kind: 'credentials', … } or { kind: 'oauth', … }");
}

/** Checks an OTDS id (any characters; it is URL-encoded) and returns it. */
export function checkId(id: unknown, what: string): string {
  if (typeof id !== 'string' || id === '' || id.length > ID_LIMIT) {
    throw argument(`${what} must be a non-empty string of at most ${ID_LIMIT} characters`);
  }
  return id;
}

/** Checks attribute names and values of a user patch and returns OTDS's `values` list. */
export function checkValues(values: OtdsAttributeValues): { name: string; values: string[] }[] {
  if (typeof values !== 'object' || values === null) throw argument('attribute values must be an object');
  const list = Object.entries(values).map(([name, value]) => {
    if (!ATTRIBUTE_NAME.test(name))
      throw argument(`attribute name ${JSON.stringify(name)} is not an OTDS attribute name`);
    if (!Array.isArray(value) || value.some((item) => typeof item !== 'string' || item.length > 4096)) {
      throw argument(`attribute ${name} must be a list of strings of at most 4096 characters`);
    }
    return { name, values: [...value] };
  });
  if (list.length === 0) throw argument('a user patch needs at least one attribute');
  return list;
}

/** `value` when it is an integer in 1..max. */
export function positiveInteger(value: number, name: string, max: number): number {
  if (!Number.isInteger(value) || value < 1 || value > max) throw argument(`${name} must be an integer in 1..${max}`);
  return value;
}

/** `value` when it is an integer in 0..20 (a retry count). */
export function nonNegativeInteger(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 0 || value > 20) throw argument(`${name} must be an integer in 0..20`);
  return value;
}
