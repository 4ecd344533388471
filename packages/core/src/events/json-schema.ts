import { z } from 'zod';
import { SubjectIdentifierSchema } from '../subjects/subject-identifier.js';
import { EVENT_CATALOGUE, type EventType } from './catalogue/index.js';

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
      time: z.iso.datetime({ offset: true }),
      subject: z.string().min(1).max(1024).optional(),
      datacontenttype: z.literal('application/json'),
      dataschema: z.string().min(1).max(2048).optional(),
      idrelaysubject: SubjectIdentifierSchema.optional(),
      data: entry.data,
    })
    .meta({ title: type, description: entry.summary });
  return {
    $id: `https://idrelay.dev/schemas/events/${type}.json`,
    ...z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'input', unrepresentable: 'any' }),
  };
}
