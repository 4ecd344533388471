import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CORE_ERRORS } from '../src/errors/codes.js';
import { EVENT_TYPES } from '../src/events/catalogue/index.js';
import { renderErrorsDoc, renderEventSchemas, renderEventsDoc } from './docs.js';

const docs = join(import.meta.dirname, '../../../docs');
const stale = 'is stale: run `pnpm gen` and commit the result';

describe('generated documentation', () => {
  it(`docs/errors.md lists every code and nothing else (${stale})`, () => {
    const text = readFileSync(join(docs, 'errors.md'), 'utf8');
    expect(text, stale).toBe(renderErrorsDoc());
    const documented = [...text.matchAll(/^\| `(ERR_[A-Z0-9_]+)` \|/gm)].map((m) => m[1]);
    expect(documented).toEqual(Object.keys(CORE_ERRORS));
  });

  it(`docs/events.md lists the catalogue (${stale})`, () => {
    expect(readFileSync(join(docs, 'events.md'), 'utf8'), stale).toBe(renderEventsDoc());
  });

  it(`docs/events/ holds one current JSON Schema per event type (${stale})`, () => {
    const files = readdirSync(join(docs, 'events')).sort();
    expect(files).toEqual(EVENT_TYPES.map((type) => `${type}.json`).sort());
    for (const [type, json] of renderEventSchemas()) {
      expect(readFileSync(join(docs, 'events', `${type}.json`), 'utf8'), `${type} ${stale}`).toBe(json);
    }
  });

  it('the JSON Schemas fix the type and describe data', () => {
    const schema = JSON.parse(renderEventSchemas().get('idrelay.access.requested')!);
    expect(schema.properties.type.const).toBe('idrelay.access.requested');
    expect(schema.properties.data.required).toEqual(expect.arrayContaining(['requestId', 'requester', 'resource']));
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
  });
});
