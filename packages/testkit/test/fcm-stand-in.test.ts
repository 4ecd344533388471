import { createPrivateKey, generateKeyPairSync, sign } from 'node:crypto';
import http2 from 'node:http2';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type FcmStandIn, redirectFirebaseToStandIn, startFcmStandIn } from '../src/index.js';

let standIn: FcmStandIn;
let session: http2.ClientHttp2Session;
let now = Date.now();

const b64u = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
function assertion(claims: Record<string, unknown> = {}, key = standIn.serviceAccount.private_key): string {
  const iat = Math.floor(now / 1000);
  const body = b64u({
    iss: standIn.serviceAccount.client_email,
    aud: 'https://oauth2.googleapis.com/token',
    scope: 'https://www.googleapis.com/auth/firebase.messaging',
    iat,
    exp: iat + 3600,
    ...claims,
  });
  const input = `${b64u({ alg: 'RS256', typ: 'JWT' })}.${body}`;
  return `${input}.${sign('RSA-SHA256', Buffer.from(input), createPrivateKey(key)).toString('base64url')}`;
}

async function post(path: string, body: string, headers: Record<string, string> = {}) {
  const stream = session.request({ ':method': 'POST', ':path': path, ...headers });
  stream.end(body);
  const [responseHeaders, text] = await Promise.all([
    new Promise<http2.IncomingHttpHeaders>((resolve) => stream.once('response', resolve)),
    new Promise<string>((resolve, reject) => {
      let data = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        data += chunk;
      });
      stream.once('end', () => resolve(data));
      stream.once('error', reject);
    }),
  ]);
  return {
    status: responseHeaders[':status'],
    headers: responseHeaders,
    json: JSON.parse(text) as Record<string, any>,
  };
}

const tokenRequest = (jwt: string) =>
  post('/token', `grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=${jwt}`, {
    'content-type': 'application/x-www-form-urlencoded',
  });

async function accessToken(): Promise<string> {
  return (await tokenRequest(assertion())).json.access_token as string;
}

const send = async (message: Record<string, unknown>, bearer?: string, project = standIn.projectId) =>
  post(`/v1/projects/${project}/messages:send`, JSON.stringify({ message }), {
    authorization: `Bearer ${bearer ?? (await accessToken())}`,
    'content-type': 'application/json',
  });

beforeAll(async () => {
  standIn = await startFcmStandIn({ projectId: 'kit', now: () => now });
  session = http2.connect(standIn.url, { ca: standIn.ca });
});
afterEach(() => {
  standIn.reset();
  now = Date.now();
});
afterAll(async () => {
  session.close();
  await standIn.close();
});

describe('FCM stand-in: OAuth token endpoint', () => {
  it('issues a bearer token for a valid RS256 assertion by the service account', async () => {
    const { status, json } = await tokenRequest(assertion());
    expect(status).toBe(200);
    expect(json).toEqual({ access_token: expect.stringMatching(/^ya29\./), expires_in: 3599, token_type: 'Bearer' });
  });

  it.each([
    ['a foreign key', () => assertion({}, createStrangerKey()), 'Invalid JWT Signature.'],
    ['another issuer', () => assertion({ iss: 'someone@else.iam.gserviceaccount.com' }), 'issuer'],
    ['another audience', () => assertion({ aud: 'https://example.com/token' }), 'audience'],
    ['no FCM scope', () => assertion({ scope: 'https://www.googleapis.com/auth/devstorage.read_only' }), 'scope'],
    [
      'an expired assertion',
      () => assertion({ iat: Math.floor(now / 1000) - 7200, exp: Math.floor(now / 1000) - 3600 }),
      'short-lived',
    ],
  ])('refuses %s with invalid_grant', async (_name, make, text) => {
    const { status, json } = await tokenRequest(make());
    expect(status).toBe(400);
    expect(json.error).toBe('invalid_grant');
    expect(json.error_description).toContain(text);
  });
});

function createStrangerKey(): string {
  return generateKeyPairSync('rsa', { modulusLength: 2048 })
    .privateKey.export({ type: 'pkcs8', format: 'pem' })
    .toString();
}

describe('FCM stand-in: messages:send', () => {
  it('accepts a valid message, answers its name and records it', async () => {
    const { status, json } = await send({ token: 'tok', data: { a: '1' } });
    expect(status).toBe(200);
    expect(json.name).toMatch(/^projects\/kit\/messages\/[0-9a-f]+$/);
    expect(standIn.messages).toEqual([
      expect.objectContaining({ name: json.name, message: { token: 'tok', data: { a: '1' } } }),
    ]);
  });

  it('answers 401 UNAUTHENTICATED without a token it issued, and after the token expired', async () => {
    expect((await send({ token: 'tok' }, 'ya29.forged')).json.error).toMatchObject({
      code: 401,
      status: 'UNAUTHENTICATED',
    });
    const bearer = await accessToken();
    now += 3600_000;
    expect((await send({ token: 'tok' }, bearer)).status).toBe(401);
  });

  it('answers 403 PERMISSION_DENIED for another project', async () => {
    expect((await send({ token: 'tok' }, undefined, 'elsewhere')).json.error).toMatchObject({
      status: 'PERMISSION_DENIED',
    });
  });

  it('answers 400 INVALID_ARGUMENT with an FcmError detail for a malformed message', async () => {
    const { status, json } = await send({ token: 'tok', data: { n: 1 } });
    expect(status).toBe(400);
    expect(json.error).toMatchObject({
      code: 400,
      status: 'INVALID_ARGUMENT',
      details: [{ '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode: 'INVALID_ARGUMENT' }],
    });
  });

  it.each([
    [{ kind: 'unregistered' }, 404, 'NOT_FOUND', 'UNREGISTERED'],
    [{ kind: 'invalid-argument' }, 400, 'INVALID_ARGUMENT', 'INVALID_ARGUMENT'],
    [{ kind: 'quota-exceeded', retryAfterSeconds: 9 }, 429, 'RESOURCE_EXHAUSTED', 'QUOTA_EXCEEDED'],
    [{ kind: 'unavailable' }, 503, 'UNAVAILABLE', 'UNAVAILABLE'],
    [{ kind: 'internal' }, 500, 'INTERNAL', 'INTERNAL'],
    [{ kind: 'sender-id-mismatch' }, 403, 'PERMISSION_DENIED', 'SENDER_ID_MISMATCH'],
  ] as const)('plays %o with FCM’s status and error body', async (fault, code, status, errorCode) => {
    standIn.fail('tok', fault, { times: 1 });
    const first = await send({ token: 'tok' });
    expect(first.status).toBe(code);
    expect(first.json.error).toMatchObject({ code, status, details: [{ errorCode }] });
    if (fault.kind === 'quota-exceeded') expect(first.headers['retry-after']).toBe('9');
    expect((await send({ token: 'tok' })).status, 'times: 1 fires once').toBe(200);
    expect(standIn.attempts('tok')).toBe(2);
  });

  it('resets the stream for a reset fault', async () => {
    standIn.fail('tok', { kind: 'reset' });
    await expect(send({ token: 'tok' })).rejects.toMatchObject({ code: 'ERR_HTTP2_STREAM_ERROR' });
  });

  it('allows at least 100 concurrent streams, as firebase-admin’s first burst needs', () => {
    expect(session.remoteSettings.maxConcurrentStreams).toBeGreaterThanOrEqual(100);
  });
});

describe('redirectFirebaseToStandIn', () => {
  it('carries an HTTP/2 session for fcm.googleapis.com to the stand-in and fixes the ":scheme" quirk', async () => {
    const redirect = redirectFirebaseToStandIn(standIn);
    const google = http2.connect('https://fcm.googleapis.com');
    try {
      const bearer = await accessToken();
      // firebase-admin sends ':scheme': 'https:' (with a colon); a node:http2 server would refuse the stream.
      const stream = google.request({
        ':method': 'POST',
        ':scheme': 'https:',
        ':path': `/v1/projects/${standIn.projectId}/messages:send`,
        authorization: `Bearer ${bearer}`,
      });
      stream.end(JSON.stringify({ message: { token: 'via-redirect' } }));
      const status = await new Promise((resolve, reject) => {
        stream.once('response', (h) => resolve(h[':status']));
        stream.once('error', reject);
      });
      expect(status).toBe(200);
      expect(standIn.messages.map((m) => m.message.token)).toEqual(['via-redirect']);
    } finally {
      google.close();
      redirect.restore();
    }
    expect(http2.connect.name, 'restore() puts http2.connect back').toBe('connect');
  });
});
