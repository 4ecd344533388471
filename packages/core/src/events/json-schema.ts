import { z } from 'zod';
import { SubjectIdentifierSchema } from '../subjects/subject-identifier.js';
import { EVENT_CATALOGUE, type EventType } from './catalogue/index.js';
import { SUBJECT_ATTRIBUTE_MAX_LENGTH } from './subject-attribute.js';

/** The decoded `idrelaysubject` (RFC 9493 §3), for `contentSchema` (JSON Schema 2020-12 validation §8.5). */
function subjectContentSchema(): Record<string, unknown> {
  const { $schema: _, ...schema } = z.toJSONSchema(SubjectIdentifierSchema, { target: 'draft-2020-12', io: 'input' });
  return schema;
}

/**
 * The JSON Schema (draft 2020-12) of one event type: the CloudEvents envelope with `type` fixed and `data` typed.
 * `scripts/gen-event-schemas.ts` writes these to `docs/events/`, and a test keeps the committed files current.
 */
export function eventJsonSchema(type: EventType): Record<string, unknown> {
  const entry = EVENT_CATALOGUE[type];
  const schema = z
    .looseObject({
      specversion: z.literal('1.0'),
      id: z.string().min(1).max(512),
      source: z.string().min(1).max(2048),
      type: z.literal(type),
      time: z.iso.datetime({ offset: true }).optional(),
      subject: z.string().min(1).max(1024).optional(),
      datacontenttype: z
        .string()
        .regex(/^[A-Za-z0-9!#$&^_.+-]+\/(?:[A-Za-z0-9!#$&^_.+-]*\+)?json[ \t]*(?:;.*)?$/)
        .optional()
        .meta({ description: 'A JSON media type, parameters allowed; absent means application/json.' }),
      dataschema: z.string().min(1).max(2048).meta({ format: 'uri' }).optional(),
      idrelaysubject: z
        .string()
        .min(1)
        .max(SUBJECT_ATTRIBUTE_MAX_LENGTH)
        .regex(/^[A-Za-z0-9_-]+$/)
        .meta({
          description: 'The RFC 9493 subject identifier of the person concerned, as base64url JSON (no padding).',
          contentEncoding: 'base64url',
          contentMediaType: 'application/json',
          contentSchema: subjectContentSchema(),
        })
        .optional(),
      data: entry.data,
    })
    .meta({ title: type, description: entry.summary });
  return {
    $id: `https://idrelay.dev/schemas/events/${type}.json`,
    ...z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'input', unrepresentable: 'any' }),
  };
}
