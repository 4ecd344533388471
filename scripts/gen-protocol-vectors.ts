/**
 * Writes docs/protocol-vectors.json: device keys (JWK, private parts included: they are test keys), the stored
 * state a relay starts from, and signed requests with the verdict each must get (docs/protocol.md §9). Re-run with
 * `npx tsx --conditions=@idrelay/source scripts/gen-protocol-vectors.ts`; existing keys and tokens are kept, the
 * proofs are signed again (ECDSA signatures are randomised, so they differ run to run; verdicts do not).
 */
import { createPrivateKey, generateKeyPairSync, type JsonWebKey, randomBytes, sign } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { errorInfo } from '@idrelay/core';
import { ACTION_DEFAULTS, accessTokenHash, codeHash, PROOF_TYPE, signProof, tokenHash } from '@idrelay/engine';

const file = new URL('../docs/protocol-vectors.json', import.meta.url);
const previous = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Vectors) : undefined;

interface VectorDevice {
  deviceId: string;
  userId: string;
  algorithm: 'ES256' | 'Ed25519';
  publicJwk: JsonWebKey;
  privateJwk: JsonWebKey;
}
interface Vectors {
  devices: VectorDevice[];
  tokens: Record<string, string>;
}

const NOW = 1_800_000_000_000;
const CODE = '042917';
const FLOW = 'v_vector_flow_0001';

function device(deviceId: string, userId: string, algorithm: 'ES256' | 'Ed25519'): VectorDevice {
  const old = previous?.devices.find((d) => d.deviceId === deviceId);
  if (old) return old;
  const pair =
    algorithm === 'ES256' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('ed25519');
  return {
    deviceId,
    userId,
    algorithm,
    publicJwk: pair.publicKey.export({ format: 'jwk' }),
    privateJwk: pair.privateKey.export({ format: 'jwk' }),
  };
}
const devices = [
  device('d-phone', 'alice', 'ES256'),
  device('d-tablet', 'alice', 'ES256'),
  device('d-bob', 'bob', 'Ed25519'),
];
const [phone, tablet, bob] = devices as [VectorDevice, VectorDevice, VectorDevice];
const tokenNames = ['phone', 'tablet', 'expired', 'used', 'revoked', 'tries', 'plain', 'bob'] as const;
const tokens = Object.fromEntries(
  tokenNames.map((n) => [n, previous?.tokens[n] ?? randomBytes(32).toString('base64url')]),
) as Record<(typeof tokenNames)[number], string>;

const record = (name: keyof typeof tokens, over: Record<string, unknown> = {}) => ({
  token: tokens[name],
  tokenHash: tokenHash(tokens[name]),
  notificationId: `n-${name}`,
  userId: 'alice',
  deviceId: 'd-phone',
  actions: ['approve', 'deny', 'report'],
  flowId: FLOW,
  expiresAt: NOW + 60_000,
  createdAt: NOW - 10_000,
  ...over,
});
const state = {
  flows: [
    {
      id: FLOW,
      kind: 'login-verification',
      definitionVersion: 1,
      key: FLOW,
      state: 'pending',
      data: {
        userId: 'alice',
        application: { id: 'payroll', name: 'Payroll' },
        context: { ipAddress: '203.0.113.7' },
        codeHash: codeHash(FLOW, CODE),
        expiresAt: NOW + 60_000,
      },
      transitions: 0,
      createdAt: NOW - 10_000,
      updatedAt: NOW - 10_000,
    },
    {
      id: `${FLOW}_bob`,
      kind: 'login-verification',
      definitionVersion: 1,
      key: `${FLOW}_bob`,
      state: 'pending',
      data: {
        userId: 'bob',
        application: { id: 'vpn', name: 'VPN' },
        context: {},
        codeHash: codeHash(`${FLOW}_bob`, CODE),
        expiresAt: NOW + 60_000,
      },
      transitions: 0,
      createdAt: NOW - 10_000,
      updatedAt: NOW - 10_000,
    },
  ],
  tokens: [
    { ...record('phone', { notificationId: 'n-1' }) },
    { ...record('tablet', { notificationId: 'n-1', deviceId: 'd-tablet' }) },
    { ...record('expired', { expiresAt: NOW - 1 }) },
    { ...record('used'), usedAt: NOW - 5_000 },
    { ...record('revoked'), revokedAt: NOW - 5_000 },
    { ...record('tries'), attempts: 2 },
    { ...record('bob', { userId: 'bob', deviceId: 'd-bob', flowId: `${FLOW}_bob` }) },
  ],
};

const key = (d: VectorDevice) => createPrivateKey({ key: d.privateJwk, format: 'jwk' });
const iat = Math.floor(NOW / 1000);
let counter = 0;
const jti = () => `vector-proof-${String(++counter).padStart(4, '0')}`;
const proof = (d: VectorDevice, token: string, claims: Record<string, unknown> = {}, kid = d.deviceId) =>
  signProof({
    privateKey: key(d),
    algorithm: d.algorithm,
    deviceId: kid,
    token,
    method: 'POST',
    url: ACTION_DEFAULTS.respondUrl,
    iat,
    jti: jti(),
    decision: 'approve',
    code: CODE,
    ...claims,
  } as Parameters<typeof signProof>[0]);
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
/** A JWS over any header, signed by hand (RFC 7515 §5.1; ES256 signatures are r‖s, RFC 7518 §3.4). */
const raw = async (header: Record<string, unknown>, claims: Record<string, unknown>, d: VectorDevice) => {
  const input = `${b64(header)}.${b64(claims)}`;
  const signature = sign('sha256', Buffer.from(input), { key: key(d), dsaEncoding: 'ieee-p1363' });
  return `${input}.${signature.toString('base64url')}`;
};

type Case = {
  name: string;
  description: string;
  method: 'POST' | 'GET';
  request: { token: string; proof: string };
  setup?: { flowState?: string };
  expect: { status: 'applied'; state: string } | { status: 'details' } | { error: string; httpStatus: number };
};
const fail = (code: string) => ({ error: code, httpStatus: errorInfo(code)!.status });
const T = tokens;
const goodClaims = {
  jti: 'vector-proof-none',
  iat,
  htm: 'POST',
  htu: ACTION_DEFAULTS.respondUrl,
  ath: accessTokenHash(T.phone),
  decision: 'approve',
  code: CODE,
};
const cases: Case[] = [
  {
    name: 'approve',
    description: 'The right code, signed by the token’s device.',
    method: 'POST',
    request: { token: T.phone, proof: await proof(phone, T.phone) },
    expect: { status: 'applied', state: 'approved' },
  },
  {
    name: 'deny-without-code',
    description: 'Refusing needs no code.',
    method: 'POST',
    request: { token: T.phone, proof: await proof(phone, T.phone, { decision: 'deny', code: undefined }) },
    expect: { status: 'applied', state: 'denied' },
  },
  {
    name: 'ed25519-approve',
    description: 'An Ed25519 device signs with EdDSA.',
    method: 'POST',
    request: { token: T.bob, proof: await proof(bob, T.bob) },
    expect: { status: 'applied', state: 'approved' },
  },
  {
    name: 'details',
    description: 'A details request: GET proof to the details URL, no decision.',
    method: 'GET',
    request: {
      token: T.phone,
      proof: await signProof({
        privateKey: key(phone),
        algorithm: 'ES256',
        deviceId: 'd-phone',
        token: T.phone,
        method: 'GET',
        url: ACTION_DEFAULTS.detailsUrl,
        iat,
        jti: jti(),
      }),
    },
    expect: { status: 'details' },
  },
  {
    name: 'unknown-token',
    description: 'A token never issued.',
    method: 'POST',
    request: { token: T.plain, proof: await proof(phone, T.plain) },
    expect: fail('ERR_ACTION_TOKEN_UNKNOWN'),
  },
  {
    name: 'tampered-token',
    description: 'One character of the token changed.',
    method: 'POST',
    request: {
      token: `${T.phone.slice(0, -1)}${T.phone.endsWith('A') ? 'B' : 'A'}`,
      proof: await proof(phone, T.phone),
    },
    expect: fail('ERR_ACTION_TOKEN_UNKNOWN'),
  },
  {
    name: 'ath-mismatch',
    description: 'The proof binds another token.',
    method: 'POST',
    request: { token: T.phone, proof: await proof(phone, T.tablet) },
    expect: fail('ERR_ACTION_PROOF_INVALID'),
  },
  {
    name: 'wrong-htu',
    description: 'The proof is for another URL.',
    method: 'POST',
    request: { token: T.phone, proof: await proof(phone, T.phone, { url: 'https://evil.example/respond' }) },
    expect: fail('ERR_ACTION_PROOF_INVALID'),
  },
  {
    name: 'wrong-typ',
    description: 'The header typ is not idrelay-response+jwt.',
    method: 'POST',
    request: { token: T.phone, proof: await raw({ typ: 'JWT', alg: 'ES256', kid: 'd-phone' }, goodClaims, phone) },
    expect: fail('ERR_ACTION_PROOF_INVALID'),
  },
  {
    name: 'alg-none',
    description: 'An unsigned JWS (alg none).',
    method: 'POST',
    request: { token: T.phone, proof: `${b64({ typ: PROOF_TYPE, alg: 'none', kid: 'd-phone' })}.${b64(goodClaims)}.` },
    expect: fail('ERR_ACTION_PROOF_INVALID'),
  },
  {
    name: 'expired',
    description: 'The token expired.',
    method: 'POST',
    request: { token: T.expired, proof: await proof(phone, T.expired) },
    expect: fail('ERR_ACTION_TOKEN_EXPIRED'),
  },
  {
    name: 'used',
    description: 'The token was already used.',
    method: 'POST',
    request: { token: T.used, proof: await proof(phone, T.used) },
    expect: fail('ERR_ACTION_TOKEN_USED'),
  },
  {
    name: 'revoked',
    description: 'The token was revoked (decided on another device).',
    method: 'POST',
    request: { token: T.revoked, proof: await proof(phone, T.revoked) },
    expect: fail('ERR_ACTION_TOKEN_REVOKED'),
  },
  {
    name: 'wrong-device',
    description: 'Another device of the recipient signs (its own kid).',
    method: 'POST',
    request: { token: T.phone, proof: await proof(tablet, T.phone) },
    expect: fail('ERR_ACTION_WRONG_DEVICE'),
  },
  {
    name: 'wrong-recipient',
    description: 'A device of another user signs.',
    method: 'POST',
    request: { token: T.phone, proof: await proof(bob, T.phone) },
    expect: fail('ERR_ACTION_WRONG_RECIPIENT'),
  },
  {
    name: 'bad-signature',
    description: 'The signature altered.',
    method: 'POST',
    request: {
      token: T.phone,
      proof: await (async () => {
        const [h, p, s] = (await proof(phone, T.phone)).split('.') as [string, string, string];
        return `${h}.${p}.${s.startsWith('A') ? 'B' : 'A'}${s.slice(1)}`;
      })(),
    },
    expect: fail('ERR_ACTION_SIGNATURE_INVALID'),
  },
  {
    name: 'missing-signature',
    description: 'The signature part is empty.',
    method: 'POST',
    request: {
      token: T.phone,
      proof: await (async () => {
        const [h, p] = (await proof(phone, T.phone)).split('.');
        return `${h}.${p}.`;
      })(),
    },
    expect: fail('ERR_ACTION_SIGNATURE_INVALID'),
  },
  {
    name: 'signer-mismatch',
    description: 'Signed by the tablet’s key but naming the phone.',
    method: 'POST',
    request: { token: T.phone, proof: await proof(tablet, T.phone, {}, 'd-phone') },
    expect: fail('ERR_ACTION_SIGNER_MISMATCH'),
  },
  {
    name: 'stale',
    description: 'Signed 61 s before the relay’s clock (skew 60 s).',
    method: 'POST',
    request: { token: T.phone, proof: await proof(phone, T.phone, { iat: iat - 61 }) },
    expect: fail('ERR_ACTION_PROOF_STALE'),
  },
  {
    name: 'future',
    description: 'Signed 61 s after the relay’s clock.',
    method: 'POST',
    request: { token: T.phone, proof: await proof(phone, T.phone, { iat: iat + 61 }) },
    expect: fail('ERR_ACTION_PROOF_STALE'),
  },
  {
    name: 'decision-not-allowed',
    description: 'A decision the token does not list.',
    method: 'POST',
    request: { token: T.phone, proof: await proof(phone, T.phone, { decision: 'escalate' }) },
    expect: fail('ERR_ACTION_DECISION_NOT_ALLOWED'),
  },
  {
    name: 'wrong-code',
    description: 'The wrong number-matching code (first try).',
    method: 'POST',
    request: { token: T.phone, proof: await proof(phone, T.phone, { code: '000000' }) },
    expect: fail('ERR_ACTION_CODE_MISMATCH'),
  },
  {
    name: 'attempts-exceeded',
    description: 'The third wrong code: the request fails closed.',
    method: 'POST',
    request: { token: T.tries, proof: await proof(phone, T.tries, { code: '000000' }) },
    expect: fail('ERR_ACTION_ATTEMPTS_EXCEEDED'),
  },
  {
    name: 'already-decided',
    description: 'The verification was decided before this response.',
    method: 'POST',
    request: { token: T.phone, proof: await proof(phone, T.phone) },
    setup: { flowState: 'approved' },
    expect: fail('ERR_ACTION_ALREADY_DECIDED'),
  },
];
for (const c of cases) if (c.setup !== undefined && Object.keys(c.setup).length === 0) delete c.setup;

const doc = {
  description:
    'Test vectors of the idrelay response protocol (docs/protocol.md). Seed a relay with `state` (tokens by hash; the raw `token` is given for the requests), set its clock to `now`, and send each case; the verdict must match. Keys are test keys.',
  now: NOW,
  respondUrl: ACTION_DEFAULTS.respondUrl,
  detailsUrl: ACTION_DEFAULTS.detailsUrl,
  skewMs: ACTION_DEFAULTS.skewMs,
  maxCodeAttempts: ACTION_DEFAULTS.maxCodeAttempts,
  numberMatchingCode: CODE,
  devices,
  tokens,
  state,
  cases,
};
writeFileSync(file, `${JSON.stringify(doc, null, 2)}\n`);
console.log(`wrote ${cases.length} cases to docs/protocol-vectors.json`);
