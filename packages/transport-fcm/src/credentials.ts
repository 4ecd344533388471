import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { IdrelayError } from '@idrelay/core';

/**
 * A Google service-account key file (Firebase console → Project settings → Service accounts → Generate new private
 * key). firebase-admin accepts the file's snake_case names or camelCase ones.
 */
export interface FcmServiceAccount {
  project_id?: string;
  projectId?: string;
  client_email?: string;
  clientEmail?: string;
  private_key?: string;
  privateKey?: string;
}

const fail = (message: string, cause?: unknown): never => {
  throw new IdrelayError('ERR_FCM_CREDENTIALS', message, cause === undefined ? {} : { cause });
};

/**
 * Reads (when given a path) and checks a service account: a client email and an RSA private key that parses.
 * Done when the transport is created, so a broken key fails at start-up rather than on the first push.
 * Throws `ERR_FCM_CREDENTIALS`.
 */
export function loadServiceAccount(source: string | FcmServiceAccount): FcmServiceAccount {
  let account: unknown = source;
  if (typeof source === 'string') {
    let text = '';
    try {
      text = readFileSync(source, 'utf8');
    } catch (error) {
      fail(`Cannot read the service-account file ${source}.`, error);
    }
    try {
      account = JSON.parse(text);
    } catch (error) {
      fail(`The service-account file ${source} is not JSON.`, error);
    }
  }
  if (typeof account !== 'object' || account === null) return fail('The service account must be a JSON object.');
  const candidate = account as FcmServiceAccount;
  const email = candidate.client_email ?? candidate.clientEmail;
  const key = candidate.private_key ?? candidate.privateKey;
  if (typeof email !== 'string' || email === '') return fail('The service account has no client_email.');
  if (typeof key !== 'string' || key === '') return fail('The service account has no private_key.');
  try {
    createPrivateKey(key);
  } catch (error) {
    fail('The service account private_key is not a PEM private key.', error);
  }
  return candidate;
}
