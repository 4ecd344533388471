import { z } from 'zod';
import { Application, Id, RequestContext, Timestamp } from './shared.js';

/**
 * `idrelay.auth.verification.requested` — a sign-in needs the user to confirm it on an enrolled device (push MFA).
 * `numberMatch.code` is shown on the sign-in screen and typed on the device; it is never put in the push payload.
 */
export const AuthVerificationRequested = z.looseObject({
  verificationId: Id,
  userId: Id,
  application: Application,
  context: RequestContext.optional(),
  numberMatch: z.looseObject({ code: z.string().regex(/^[0-9]{2,3}$/, 'expected a 2- or 3-digit code') }).optional(),
  expiresAt: Timestamp,
});

/** `idrelay.auth.verification.approved` — the user confirmed the sign-in from an enrolled device. */
export const AuthVerificationApproved = z.looseObject({
  verificationId: Id,
  userId: Id,
  deviceId: Id,
  decidedAt: Timestamp,
});

/**
 * `idrelay.auth.verification.denied` — the user refused the sign-in. With `reported: true` the user said it was not
 * them ("deny and report"), which also raises `auth.risk.detected`.
 */
export const AuthVerificationDenied = z.looseObject({
  verificationId: Id,
  userId: Id,
  deviceId: Id.optional(),
  decidedAt: Timestamp,
  reported: z.boolean(),
  reason: z.enum(['not-me', 'mistake', 'wrong-number', 'timeout']).optional(),
});

/** `idrelay.auth.risk.detected` — a risk signal about a user: failed logins, new device or region, a CAEP/RISC event. */
export const AuthRiskDetected = z.looseObject({
  userId: Id,
  level: z.enum(['low', 'medium', 'high']),
  reasons: z
    .array(
      z.enum([
        'denied-verification',
        'failed-logins',
        'new-device',
        'new-region',
        'impossible-travel',
        'credential-compromise',
        'session-revoked',
        'other',
      ]),
    )
    .min(1),
  context: RequestContext.optional(),
  /** The event that raised the signal (a denied verification, an SSF SET `jti`). */
  causedBy: Id.optional(),
  detectedAt: Timestamp.optional(),
});
