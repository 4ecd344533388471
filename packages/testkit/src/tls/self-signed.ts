import { generateKeyPairSync, randomBytes, sign, X509Certificate } from 'node:crypto';

/** A certificate and key for a loopback stand-in, PEM-encoded. */
export interface TestCertificate {
  /** Certificate, PEM. Trust it in clients with `ca`. */
  cert: string;
  /** Private key (PKCS#8), PEM. */
  key: string;
}

// Minimal DER writer (X.690): enough for one self-signed X.509 v3 certificate (RFC 5280 §4.1).
function der(tag: number, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  const n = body.length;
  const length =
    n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), length, body]);
}
const seq = (...parts: Buffer[]) => der(0x30, ...parts);
const set = (...parts: Buffer[]) => der(0x31, ...parts);
const oid = (hex: string) => der(0x06, Buffer.from(hex, 'hex'));
const utf8 = (s: string) => der(0x0c, Buffer.from(s, 'utf8'));
const octets = (b: Buffer) => der(0x04, b);
const bits = (b: Buffer) => der(0x03, Buffer.from([0]), b);
const int = (b: Buffer) => der(0x02, b[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), b]) : b);
const time = (d: Date) => {
  // UTCTime up to 2049, GeneralizedTime after (RFC 5280 §4.1.2.5).
  const s = d.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  return d.getUTCFullYear() < 2050 ? der(0x17, Buffer.from(`${s.slice(2)}Z`)) : der(0x18, Buffer.from(`${s}Z`));
};

const ECDSA_WITH_SHA256 = seq(oid('2a8648ce3d040302'));
const COMMON_NAME = '550403';
const SUBJECT_ALT_NAME = '551d11';
const BASIC_CONSTRAINTS = '551d13';

/**
 * Makes a fresh self-signed P-256 certificate for `localhost` and `127.0.0.1` (and any extra host names), valid
 * from an hour ago for `days`. Stand-ins serve TLS with it; clients trust it through their `ca` option — never by
 * turning verification off.
 *
 * @example
 * ```ts
 * const { cert, key } = createTestCertificate();
 * const server = http2.createSecureServer({ cert, key });
 * const client = http2.connect(`https://localhost:${port}`, { ca: cert });
 * ```
 */
export function createTestCertificate(options: { hosts?: readonly string[]; days?: number } = {}): TestCertificate {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  // A unique name per certificate: a client trusting two stand-ins' certificates at once (both as `ca`) must not
  // pick the wrong one as the issuer, which OpenSSL does when subjects are equal.
  const name = seq(set(seq(oid(COMMON_NAME), utf8(`idrelay testkit ${randomBytes(8).toString('hex')}`))));
  const now = Date.now();
  const names = ['localhost', ...(options.hosts ?? [])].map((host) => der(0x82, Buffer.from(host)));
  const loopback = der(0x87, Buffer.from([127, 0, 0, 1]));
  const extensions = der(
    0xa3,
    seq(seq(oid(BASIC_CONSTRAINTS), octets(seq())), seq(oid(SUBJECT_ALT_NAME), octets(seq(...names, loopback)))),
  );
  const tbs = seq(
    der(0xa0, int(Buffer.from([2]))),
    int(Buffer.concat([Buffer.from([0x01]), randomBytes(15)])),
    ECDSA_WITH_SHA256,
    name,
    seq(time(new Date(now - 3_600_000)), time(new Date(now + (options.days ?? 2) * 86_400_000))),
    name,
    spki,
    extensions,
  );
  const signature = sign('sha256', tbs, privateKey);
  const certificate = seq(tbs, ECDSA_WITH_SHA256, bits(signature));
  const pem = `-----BEGIN CERTIFICATE-----\n${certificate
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .trimEnd()}\n-----END CERTIFICATE-----\n`;
  // Parse once so a malformed certificate fails here, not as an opaque TLS alert in a test.
  new X509Certificate(pem);
  return { cert: pem, key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
}
