/**
 * A REST-style details URL (`…/notifications/{notificationId}/details`): the proof must name the token's own
 * notification, and a token presented at another notification's path is refused with nothing served.
 */
import { createMemoryStore } from '@idrelay/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createActionHandlers } from '../src/index.js';
import { enrolDevice, makeDeviceKey, responseProof, type TestDevice } from './support/device-keys.js';
import { createScenario, type Scenario } from './support/scenario.js';

const TEMPLATE = 'https://relay.example/v1/notifications/{notificationId}/details';

describe('details URL with a {notificationId} placeholder', () => {
  let s: Scenario;
  let iphone: TestDevice;
  let tok: string;
  let nid: string;

  beforeEach(async () => {
    s = await createScenario(createMemoryStore(), { actions: { detailsUrl: TEMPLATE } });
    iphone = makeDeviceKey('alice-iphone');
    await enrolDevice(s.relay, 'alice', iphone, { platform: 'apns', token: 'a1a1a1a1a1a1a1a1' });
    await s.relay.verifications.start({ userId: 'alice', application: { id: 'payroll', name: 'Payroll' } });
    await s.relay.drain();
    const push = s.transports.apns.sent.find((p) => p.target.deviceId === 'alice-iphone');
    tok = push?.target.data?.tok ?? '';
    nid = push?.target.data?.nid ?? '';
    expect(tok).not.toBe('');
  });
  afterEach(() => s.relay.close());

  const url = (id: string) => TEMPLATE.replace('{notificationId}', encodeURIComponent(id));
  const get = async (path: string, proofUrl: string) => {
    const proof = await responseProof(iphone, tok, s.clock.now(), { method: 'GET', url: proofUrl });
    const { details } = createActionHandlers(s.relay);
    return details(new Request(path, { headers: { 'idrelay-token': tok, 'idrelay-proof': proof } }), {
      notificationId:
        new URL(path).pathname.split('/')[3] === undefined
          ? undefined
          : decodeURIComponent(new URL(path).pathname.split('/')[3] ?? ''),
    });
  };

  it('serves the details when the proof names the token’s notification', async () => {
    const response = await get(url(nid), url(nid));
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ notificationId: nid, kind: 'login-verification' });
  });

  it('refuses a proof made for the template itself or another notification', async () => {
    const literal = await get(url(nid), TEMPLATE);
    expect(literal.status).toBe(401);
    expect(((await literal.json()) as { code: string }).code).toBe('ERR_ACTION_PROOF_INVALID');
    const other = await get(url(nid), url('n_other'));
    expect(((await other.json()) as { code: string }).code).toBe('ERR_ACTION_PROOF_INVALID');
  });

  it('refuses a token presented at another notification’s path', async () => {
    const response = await get(url('n_other'), url(nid));
    expect(response.status).toBe(400);
    expect(((await response.json()) as { code: string }).code).toBe('ERR_ACTION_REQUEST_INVALID');
  });
});
