import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isIdrelayError } from '@idrelay/core';
import { createTestServiceAccount } from '@idrelay/testkit';
import { describe, expect, it } from 'vitest';
import { createFcmTransport, type FcmTransportOptions } from './index.js';

const { serviceAccount } = createTestServiceAccount({ projectId: 'p' });
const codeOf = (options: FcmTransportOptions) => {
  try {
    createFcmTransport(options);
    return undefined;
  } catch (error) {
    return isIdrelayError(error) ? error.code : String(error);
  }
};
const file = (content: string) => {
  const path = join(mkdtempSync(join(tmpdir(), 'idrelay-fcm-')), 'sa.json');
  writeFileSync(path, content);
  return path;
};

describe('createFcmTransport options', () => {
  it('accepts a service account object or a key-file path, and loads nothing until the first send', () => {
    const transport = createFcmTransport({ projectId: 'p', serviceAccount });
    expect(transport).toMatchObject({ platform: 'fcm', name: 'fcm:p' });
    expect(codeOf({ projectId: 'p', serviceAccount: file(JSON.stringify(serviceAccount)) })).toBeUndefined();
  });

  it.each([
    ['no credentials at all', {}],
    ['a missing key file', { serviceAccount: '/nonexistent/sa.json' }],
    ['a key file that is not JSON', { serviceAccount: file('not json') }],
    ['no client_email', { serviceAccount: { ...serviceAccount, client_email: '' } }],
    ['a private_key that is not a key', { serviceAccount: { ...serviceAccount, private_key: 'hunter2' } }],
  ])('refuses %s with ERR_FCM_CREDENTIALS', (_name, over) => {
    expect(codeOf({ projectId: 'p', ...over })).toBe('ERR_FCM_CREDENTIALS');
  });

  it.each([
    ['no projectId', { projectId: '' }],
    ['a batch over 500', { maxBatchSize: 501 }],
    ['zero batches in flight', { batchesInFlight: 0 }],
    ['zero attempts', { retry: { attempts: 0 } }],
  ])('refuses %s with ERR_TRANSPORT_CONFIG', (_name, over) => {
    expect(codeOf({ projectId: 'p', serviceAccount, ...over })).toBe('ERR_TRANSPORT_CONFIG');
  });

  it('refuses to send after close()', async () => {
    const transport = createFcmTransport({ projectId: 'p', serviceAccount });
    await transport.close();
    await expect(transport.send({ id: 'n', urgency: 'normal' }, [])).rejects.toMatchObject({
      code: 'ERR_TRANSPORT_CLOSED',
    });
  });
});
