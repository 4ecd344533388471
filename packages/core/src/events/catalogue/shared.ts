import { z } from 'zod';

/** A directory user id, request id or other opaque reference. */
export const Id = z.string().min(1).max(512);
/** An RFC 3339 timestamp with an offset, e.g. `2026-11-23T10:00:00Z`. */
export const Timestamp = z.iso.datetime({ offset: true });
/** Short human text shown to people: names, titles, reasons. */
export const Text = z.string().min(1).max(1024);
/** Longer free text: justifications, summaries. */
export const LongText = z.string().min(1).max(8192);

/** Where a sign-in or request came from, as the IdP saw it. */
export const RequestContext = z.looseObject({
  ipAddress: z.string().max(64).optional(),
  userAgent: z.string().max(1024).optional(),
  location: z
    .looseObject({
      city: z.string().max(128).optional(),
      region: z.string().max(128).optional(),
      country: z.string().max(64).optional(),
    })
    .optional(),
  deviceName: z.string().max(256).optional(),
});

/** An application a user signs in to or acts in. */
export const Application = z.looseObject({ id: Id, name: Text.optional() });

/** A role, group or entitlement carrying privilege. */
export const Privilege = z.looseObject({
  id: Id,
  name: Text.optional(),
  kind: z.enum(['role', 'group', 'entitlement', 'permission']),
  system: Text.optional(),
});

/** A person or service that caused a change. */
export const Actor = z.looseObject({
  id: Id,
  displayName: Text.optional(),
  type: z.enum(['user', 'service', 'system']).optional(),
});

/** A failure reported by a workflow, connector or provisioning target. */
export const Failure = z.looseObject({ code: z.string().max(128).optional(), message: LongText });
