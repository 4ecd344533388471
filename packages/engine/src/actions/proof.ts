import { type KeyObject, verify } from 'node:crypto';
import { IdrelayError } from '@idrelay/core';
import type { ProtectedHeaderParameters } from 'jose';

/** The JWS `typ` of a response proof (docs/protocol.md §4), after RFC 9449's `dpop+jwt`. */
export const PROOF_TYPE = 'idrelay-response+jwt';

/** JWS algorithms a proof may use (RFC 7518 §3.4 ES256, RFC 8037 EdDSA with an Ed25519 key). */
export const PROOF_ALGORITHMS = ['ES256', 'EdDSA'] as const;

/** Longest proof the relay reads, in characters. */
export const MAX_PROOF_LENGTH = 8_192;

/** The claims of a response proof (docs/protocol.md §4.2), as the device signs them. */
export interface ProofClaims {
  /** Unique id of this proof, 16-128 characters. */
  jti: string;
  /** When it was signed, seconds since the epoch (RFC 7519 §4.1.6). */
  iat: number;
  /** `POST` for a response, `GET` for a details request (RFC 9449 §4.2). */
  htm: 'POST' | 'GET';
  /** The relay's URL the proof is for, without query or fragment (RFC 9449 §4.2). */
  htu: string;
  /** base64url(SHA-256(action token)) (RFC 9449 §4.2 `ath`). */
  ath: string;
  /** The decision (an action id of the push); responses only. */
  decision?: string;
  /** The number-matching code the user typed; responses to number-matched requests only. */
  code?: string;
  /** A reason the user gave, ≤ 500 characters. */
  comment?: string;
}

/** A proof whose header was read but whose signature is not checked yet. */
export interface UnverifiedProof {
  header: ProtectedHeaderParameters & { kid: string; alg: (typeof PROOF_ALGORITHMS)[number] };
}

const BASE64URL = /^[A-Za-z0-9_-]+$/;

function invalid(message: string): IdrelayError<'ERR_ACTION_PROOF_INVALID'> {
  return new IdrelayError('ERR_ACTION_PROOF_INVALID', message);
}

/**
 * Reads a proof's protected header without trusting it: compact serialisation (three parts, RFC 7515 §7.1), `typ`
 * {@link PROOF_TYPE}, `alg` one of {@link PROOF_ALGORITHMS} (never `none`), `kid` the device id, no `jwk`/`jku`/`x5u`
 * (the key comes from enrolment, never from the proof).
 *
 * @throws {IdrelayError} `ERR_ACTION_SIGNATURE_INVALID` when the signature part is missing, `ERR_ACTION_PROOF_INVALID`
 * otherwise.
 */
export function readProofHeader(proof: string): UnverifiedProof {
  if (proof.length > MAX_PROOF_LENGTH) throw invalid(`A proof is at most ${MAX_PROOF_LENGTH} characters`);
  const parts = proof.split('.');
  if (parts.length !== 3) throw invalid('A proof is a compact JWS: three base64url parts joined by dots');
  let header: ProtectedHeaderParameters;
  try {
    // Strict base64url first: Buffer's decoder would skip characters outside the alphabet.
    if (!BASE64URL.test(parts[0]!)) throw new TypeError('not base64url');
    header = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8')) as ProtectedHeaderParameters;
    if (typeof header !== 'object' || header === null || Array.isArray(header)) throw new TypeError('not an object');
  } catch (cause) {
    throw new IdrelayError('ERR_ACTION_PROOF_INVALID', 'The proof header is not base64url JSON', { cause });
  }
  if (header.typ !== PROOF_TYPE) throw invalid(`The proof's typ must be "${PROOF_TYPE}"`);
  // `none` and every other algorithm are refused before any key is looked at (RFC 8725 §3.1).
  if (!PROOF_ALGORITHMS.includes(header.alg as never)) throw invalid('The proof alg must be ES256 or EdDSA');
  if (parts[2] === '') throw new IdrelayError('ERR_ACTION_SIGNATURE_INVALID', 'The proof carries no signature');
  if (typeof header.kid !== 'string' || header.kid.length === 0 || header.kid.length > 512) {
    throw invalid('The proof header needs a kid: the device id');
  }
  if ('jwk' in header || 'jku' in header || 'x5u' in header || 'x5c' in header || header.crit !== undefined) {
    throw invalid('The proof header may not carry keys or critical extensions');
  }
  return { header: header as UnverifiedProof['header'] };
}

/** Length of an ES256 signature: R and S, 32 octets each (RFC 7518 §3.4); Ed25519's is 64 octets too (RFC 8032 §5.1.6). */
const SIGNATURE_LENGTH = 64;

/** How {@link verifyProofSignature} runs the signature check. */
export interface VerifyOptions {
  /**
   * Verify on libuv's thread pool instead of the calling thread. Alone, a P-256 verification on the calling
   * thread (about 55 µs here) costs less than the hop to the pool and back; while other answers are in progress,
   * the pool lets the other cores verify while the event loop reads and writes the store, which then pays about
   * 5 µs a check instead of 55. Default false.
   */
  offThread?: boolean;
}

/**
 * Checks `signature` over `input` with `key`: on the calling thread, or with `offThread` on libuv's thread pool
 * through `crypto.verify`'s callback form (see {@link VerifyOptions.offThread}).
 */
function checkSignature(
  input: Buffer,
  key: KeyObject,
  algorithm: 'ES256' | 'Ed25519',
  signature: Buffer,
  offThread: boolean,
): boolean | Promise<boolean> {
  const hash = algorithm === 'ES256' ? 'sha256' : null;
  const options = algorithm === 'ES256' ? { key, dsaEncoding: 'ieee-p1363' as const } : key;
  if (!offThread) return verify(hash, input, options, signature);
  return new Promise<boolean>((resolve, reject) =>
    verify(hash, input, options, signature, (error, ok) => (error ? reject(error) : resolve(ok))),
  );
}

/**
 * Checks a compact JWS signature (RFC 7515 §5.2) over `header.payload` with Node's `crypto.verify` (see
 * {@link checkSignature} for where it runs), and returns the decoded payload, or `undefined` when it does not
 * verify. The header was read by {@link readProofHeader} (`alg` is checked against the device's algorithm by the
 * caller, `crit` refused, so the payload is always base64url, RFC 7797). Not WebCrypto (what jose uses): its
 * `verify` always hops to the thread pool and adds WebIDL conversions, which cost more than the P-256
 * verification itself when answers arrive one at a time.
 */
async function verifyCompact(
  proof: string,
  key: KeyObject,
  algorithm: 'ES256' | 'Ed25519',
  offThread: boolean,
): Promise<Buffer | undefined> {
  const parts = proof.split('.');
  if (parts.length !== 3) return undefined;
  const [header, body, signature] = parts as [string, string, string];
  if (!BASE64URL.test(header) || !BASE64URL.test(body) || !BASE64URL.test(signature)) return undefined;
  const bytes = Buffer.from(signature, 'base64url');
  if (bytes.length !== SIGNATURE_LENGTH) return undefined;
  if (key.asymmetricKeyType !== (algorithm === 'ES256' ? 'ec' : 'ed25519')) return undefined;
  const input = Buffer.from(`${header}.${body}`, 'ascii');
  const ok = await checkSignature(input, key, algorithm, bytes, offThread);
  return ok ? Buffer.from(body, 'base64url') : undefined;
}

/**
 * Verifies the proof's signature with `key` and returns its claims, checked for shape (not yet against the request).
 * Returns `undefined` when the signature does not verify.
 *
 * @throws {IdrelayError} `ERR_ACTION_PROOF_INVALID` when the signature holds but the claims are malformed.
 */
export async function verifyProofSignature(
  proof: string,
  key: KeyObject,
  algorithm: 'ES256' | 'Ed25519',
  options: VerifyOptions = {},
): Promise<ProofClaims | undefined> {
  const payload = await verifyCompact(proof, key, algorithm, options.offThread ?? false);
  if (payload === undefined) return undefined;
  let claims: Record<string, unknown>;
  try {
    claims = JSON.parse(payload.toString('utf8')) as Record<string, unknown>;
  } catch {
    throw invalid('The proof payload is not JSON');
  }
  if (typeof claims !== 'object' || claims === null || Array.isArray(claims))
    throw invalid('The payload is not an object');
  const text = (name: string, min: number, max: number, required: boolean) => {
    const value = claims[name];
    if (value === undefined && !required) return;
    if (typeof value !== 'string' || value.length < min || value.length > max) {
      throw invalid(`The proof claim "${name}" must be a string of ${min}-${max} characters`);
    }
  };
  text('jti', 16, 128, true);
  text('htu', 1, 2048, true);
  text('ath', 43, 43, true);
  text('decision', 1, 64, false);
  text('code', 1, 16, false);
  text('comment', 0, 500, false);
  if (claims.htm !== 'POST' && claims.htm !== 'GET') throw invalid('The proof claim "htm" must be POST or GET');
  if (typeof claims.iat !== 'number' || !Number.isFinite(claims.iat)) throw invalid('The proof needs a numeric iat');
  return claims as unknown as ProofClaims;
}
