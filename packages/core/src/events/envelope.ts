import { z } from 'zod';
import { type SubjectIdentifier, SubjectIdentifierSchema } from '../subjects/subject-identifier.js';
import type { EventDataMap, EventType } from './catalogue/index.js';

/**
 * The CloudEvents 1.0 context attributes idrelay uses (JSON event format, CloudEvents spec §2, §3.1).
 * Unknown extension attributes are kept, as the spec requires of intermediaries.
 *
 * @see https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/spec.md
 */
export const EnvelopeSchema = z
  .looseObject({
    specversion: z.literal('1.0'),
    id: z.string().min(1).max(512),
    /** A URI-reference naming the producer, e.g. `https://iam.example.com/workflows` or `/connectors/ldap`. */
    source: z
      .string()
      .min(1)
      .max(2048)
      .regex(/^[^\s]+$/, 'expected a URI-reference without spaces'),
    type: z.string().min(1).max(256),
    time: z.iso.datetime({ offset: true }),
    /** The CloudEvents `subject`: what the event is about, within the source (a request id, a user id). */
    subject: z.string().min(1).max(1024).optional(),
    datacontenttype: z.literal('application/json'),
    dataschema: z.string().min(1).max(2048).optional(),
    /** idrelay extension: the RFC 9493 subject identifier of the person the event concerns. */
    idrelaysubject: SubjectIdentifierSchema.optional(),
    data: z.unknown(),
  })
  .superRefine((envelope, ctx) => {
    for (const name of Object.keys(envelope)) {
      // CloudEvents §3.1.1: attribute names are lower-case ASCII letters and digits, at most 20 characters.
      if (!/^[a-z0-9]{1,20}$/.test(name)) {
        ctx.addIssue({
          code: 'custom',
          path: [name],
          message: 'CloudEvents attribute names must be 1-20 lower-case letters or digits',
        });
      }
    }
  });

/** CloudEvents extension attributes beyond idrelay's own: string, number or boolean values. */
export type ExtensionAttributes = Record<string, string | number | boolean>;

/**
 * An identity event: a CloudEvents 1.0 JSON envelope whose `data` is typed by `type`.
 *
 * Narrow on `type` to get the `data` of one event type:
 * @example
 * ```ts
 * if (event.type === 'idrelay.access.requested') event.data.resource.name;
 * ```
 */
export type IdentityEvent<T extends EventType = EventType> = {
  [K in T]: {
    specversion: '1.0';
    id: string;
    source: string;
    type: K;
    time: string;
    subject?: string;
    datacontenttype: 'application/json';
    dataschema?: string;
    idrelaysubject?: SubjectIdentifier;
    data: EventDataMap[K];
    /** Extension attributes the producer added; forwarded untouched. */
    [extension: string]: unknown;
  };
}[T];
