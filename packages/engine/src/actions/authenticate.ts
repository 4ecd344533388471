import type { KeyObject } from 'node:crypto';
import { timingSafeEqual } from 'node:crypto';
import {
  type ActionTokenRecord,
  type DeviceRecord,
  type ErrorCode,
  type FlowRecord,
  IdrelayError,
  type LookupOptions,
  type Store,
  type StoredActionToken,
} from '@idrelay/core';
import { type ProofClaims, readProofHeader, type VerifyOptions, verifyProofSignature } from './proof.js';
import { accessTokenHash, tokenHash } from './token-hash.js';

/** A request from a device: the action token from the push and a proof signed by the device key. */
export interface ActionRequest {
  /** The `tok` value of the push. */
  token: string;
  /** A compact JWS made with the enrolled device key (docs/protocol.md §4). */
  proof: string;
  /**
   * The notification the request addresses, when its URL names one (`GET /v1/notifications/{id}/details`): a token of
   * another notification is then refused with `ERR_ACTION_REQUEST_INVALID`.
   */
  notificationId?: string;
}

/** What {@link authenticateRequest} needs. */
export interface AuthenticateOptions {
  store: Pick<Store, 'actionTokens' | 'devices'>;
  now: () => number;
  keyFor: (spki: string) => KeyObject;
  /** Accepted clock difference between the device and the relay, ms. */
  skewMs: number;
  /** Read the user's flow of this kind with the token ({@link LookupOptions.userFlowKind}). */
  userFlowKind?: string;
}

/** A request whose token, signature and bindings checked out (its token state is checked by the caller). */
export interface AuthenticatedRequest {
  hash: string;
  stored: StoredActionToken;
  device: DeviceRecord;
  claims: ProofClaims;
  /** The token's flow as read with it, when it has one. */
  flow?: FlowRecord;
  /** With `userFlowKind`: the user's flow of that kind as read with the token, `null` when there is none. */
  userFlow?: FlowRecord | null;
}

/** Facts about a refused request known at the point of refusal, for the audit trail. */
export interface RefusalFacts {
  userId?: string;
  deviceId?: string;
  notificationId?: string;
}

/** An {@link IdrelayError} carrying what was known when the request was refused. */
export function refuse(
  code: ErrorCode,
  message: string,
  facts: RefusalFacts = {},
  extra: Record<string, unknown> = {},
) {
  return new IdrelayError(code, message, { details: { ...facts, ...extra } });
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Checks the shape of a request before anything is looked up. */
export function readRequest(input: unknown): ActionRequest {
  const r = input as Partial<ActionRequest> | null;
  if (typeof r !== 'object' || r === null) throw refuse('ERR_ACTION_REQUEST_INVALID', 'The request must be an object');
  if (typeof r.token !== 'string' || r.token.length === 0 || r.token.length > 512) {
    throw refuse('ERR_ACTION_REQUEST_INVALID', 'The request needs the action token (1-512 characters)');
  }
  if (typeof r.proof !== 'string' || r.proof.length === 0) {
    throw refuse('ERR_ACTION_SIGNATURE_INVALID', 'The request carries no proof');
  }
  if (r.notificationId !== undefined && typeof r.notificationId !== 'string') {
    throw refuse('ERR_ACTION_REQUEST_INVALID', 'notificationId must be a string');
  }
  return r.notificationId === undefined
    ? { token: r.token, proof: r.proof }
    : { token: r.token, proof: r.proof, notificationId: r.notificationId };
}

/**
 * Device requests (answers and details requests) in progress in this process, each counted from its start to its
 * end by {@link trackDeviceRequest}. While another one is in progress, signatures are verified on the thread pool
 * ({@link VerifyOptions.offThread}): the event loop has the others' reads, parsing and writes to do meanwhile. A
 * request's whole course counts, not only its authentication: behind an HTTP server each answer arrives in its own
 * turn of the event loop and its lookup returns before the next one starts, so only the next one's arrival during
 * the last one's write shows that the server is busy (`pnpm bench gateway`: 0.50-0.57× the floor with every
 * signature verified on the event loop, 0.58-0.61× this way). One request at a time is verified inline.
 */
let inProgress = 0;

/** Runs a device request's `work`, counted as in progress until it settles (see {@link inProgress}). */
export async function trackDeviceRequest<T>(work: () => Promise<T>): Promise<T> {
  inProgress++;
  try {
    return await work();
  } finally {
    inProgress--;
  }
}

/**
 * The part of the protocol that changes nothing (docs/protocol.md §6, steps 1-7): the token is known (read, not
 * consumed); the proof names an enrolled device and verifies with its key; it binds this token (`ath`), method and
 * URL; it is fresh; and its device is the token's device of the token's recipient. A bad signature therefore never
 * burns a token.
 */
export async function authenticateRequest(
  request: ActionRequest,
  target: { method: 'POST' | 'GET'; url: string | ((token: ActionTokenRecord) => string) },
  options: AuthenticateOptions,
): Promise<AuthenticatedRequest> {
  const { header } = readProofHeader(request.proof);
  const hash = tokenHash(request.token);
  // One read for the token, the device the proof names and the token's flow; the token is still judged first.
  const {
    token: stored,
    device: signer,
    flow,
    userFlow,
  } = await options.store.actionTokens.lookup(
    hash,
    header.kid,
    options.userFlowKind === undefined ? undefined : { userFlowKind: options.userFlowKind },
  );
  if (stored === undefined || (stored.record.purpose ?? 'action') !== 'action') {
    throw refuse('ERR_ACTION_TOKEN_UNKNOWN', 'The action token is not known', { deviceId: header.kid });
  }
  const token = stored.record;
  const facts: RefusalFacts = { userId: token.userId, deviceId: header.kid, notificationId: token.notificationId };
  if (signer?.publicKey === undefined || signer.keyAlgorithm === undefined) {
    throw refuse('ERR_ACTION_SIGNATURE_INVALID', 'The proof names no enrolled device', facts);
  }
  const wantAlg = signer.keyAlgorithm === 'ES256' ? 'ES256' : 'EdDSA';
  if (header.alg !== wantAlg) throw refuse('ERR_ACTION_SIGNATURE_INVALID', `The device signs with ${wantAlg}`, facts);
  const claims = await verifyProofSignature(request.proof, options.keyFor(signer.publicKey), signer.keyAlgorithm, {
    offThread: inProgress > 1,
  });
  if (claims === undefined) {
    // Does it verify with another key of the recipient? Then a token travelled to another enrolled device.
    if (header.kid === token.deviceId) {
      for (const other of await options.store.devices.listByUser(token.userId)) {
        if (other.deviceId === header.kid || other.publicKey === undefined || other.keyAlgorithm === undefined)
          continue;
        if (
          (await verifyProofSignature(request.proof, options.keyFor(other.publicKey), other.keyAlgorithm)) !== undefined
        ) {
          throw refuse(
            'ERR_ACTION_SIGNER_MISMATCH',
            "The proof was signed by another of the recipient's devices",
            facts,
            { signer: other.deviceId },
          );
        }
      }
    }
    throw refuse('ERR_ACTION_SIGNATURE_INVALID', 'The proof signature does not verify', facts);
  }
  const url = typeof target.url === 'function' ? target.url(token) : target.url;
  if (claims.htm !== target.method || claims.htu !== url) {
    throw refuse('ERR_ACTION_PROOF_INVALID', `The proof is for ${claims.htm} ${claims.htu}`, facts);
  }
  if (!sameText(claims.ath, accessTokenHash(request.token))) {
    throw refuse('ERR_ACTION_PROOF_INVALID', 'The proof binds another token (ath)', facts);
  }
  const now = options.now();
  const age = now - claims.iat * 1000;
  if (age > options.skewMs || -age > options.skewMs) {
    throw refuse(
      'ERR_ACTION_PROOF_STALE',
      age > 0 ? 'The proof is too old' : 'The proof is dated in the future',
      facts,
      { skewMs: options.skewMs, ageMs: age },
    );
  }
  if (signer.userId !== token.userId) {
    throw refuse('ERR_ACTION_WRONG_RECIPIENT', "The proof was signed by another user's device", facts);
  }
  if (signer.deviceId !== token.deviceId) {
    throw refuse('ERR_ACTION_WRONG_DEVICE', 'The token was sent to another device of this user', facts);
  }
  return {
    hash,
    stored,
    device: signer,
    claims,
    ...(flow !== undefined ? { flow } : {}),
    ...(userFlow !== undefined ? { userFlow } : {}),
  };
}

/** Refuses a token that is used, revoked or expired (read state; `consume` decides races). */
export function assertLive(stored: StoredActionToken, now: number, facts: RefusalFacts): void {
  if (stored.usedAt !== undefined) throw refuse('ERR_ACTION_TOKEN_USED', 'The action token was already used', facts);
  if (stored.revokedAt !== undefined) {
    throw refuse('ERR_ACTION_TOKEN_REVOKED', 'The action token was revoked (decided elsewhere)', facts);
  }
  if (stored.record.expiresAt <= now) throw refuse('ERR_ACTION_TOKEN_EXPIRED', 'The action token expired', facts);
}

/** Compares hex hashes in constant time. */
export function sameHash(a: string, b: string): boolean {
  return sameText(a, b);
}
