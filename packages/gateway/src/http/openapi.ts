import { z } from 'zod';
import { type RouteSpec, routeParams } from './routes.js';
import { problemSchema } from './schemas.js';

/** An OpenAPI 3.1 document, as plain JSON. */
export type OpenApiDocument = Record<string, unknown> & {
  openapi: string;
  paths: Record<string, Record<string, unknown>>;
};

const REF = '#/components/schemas/';

/**
 * Builds the OpenAPI 3.1 document from the route table: request bodies, parameters and answers are the JSON
 * Schemas of the same zod schemas the routes validate with (`z.toJSONSchema`); named schemas (`.meta({ id })`)
 * become components.
 *
 * @example
 * ```ts
 * const doc = buildOpenApi(ROUTES, { title: 'idrelay', version: '1.0.0', serverUrl: 'https://relay.example.com' });
 * ```
 */
export function buildOpenApi(
  routes: readonly RouteSpec[],
  info: { title: string; version: string; serverUrl: string },
): OpenApiDocument {
  const components: Record<string, unknown> = {};
  const schemaOf = (schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> => {
    const converted = z.toJSONSchema(schema, { io, unrepresentable: 'any' });
    const json = JSON.parse(JSON.stringify(converted).replaceAll('"#/$defs/', `"${REF}`)) as Record<string, unknown> & {
      $defs?: Record<string, unknown>;
    };
    const { $schema: _schema, $defs, ...rest } = json;
    for (const [name, def] of Object.entries($defs ?? {})) components[name] = def;
    return rest;
  };

  const paths: OpenApiDocument['paths'] = {};
  for (const route of routes) {
    const parameters: unknown[] = routeParams(route.path).map(({ name, schema }) => ({
      name,
      in: 'path',
      required: true,
      schema: schemaOf(schema, 'input'),
    }));
    if (route.query) {
      const query = schemaOf(route.query, 'input') as { properties?: Record<string, unknown>; required?: string[] };
      for (const [name, schema] of Object.entries(query.properties ?? {})) {
        parameters.push({ name, in: 'query', required: query.required?.includes(name) ?? false, schema });
      }
    }
    for (const header of route.headers ?? []) {
      parameters.push({
        name: header.name,
        in: 'header',
        required: header.required ?? false,
        description: header.description,
        schema: { type: 'string' },
      });
    }
    const responses: Record<string, unknown> = {};
    for (const [status, response] of Object.entries(route.responses)) {
      responses[status] =
        response.schema === undefined && response.contentType === undefined
          ? { description: response.description }
          : {
              description: response.description,
              content: {
                [response.contentType ?? 'application/json']: {
                  schema: response.schema ? schemaOf(response.schema, 'output') : { type: 'string' },
                },
              },
            };
    }
    for (const status of route.problems) {
      responses[String(status)] = {
        description: 'A refusal: RFC 9457 problem document with idrelay’s `code`.',
        content: { 'application/problem+json': { schema: { $ref: `${REF}Problem` } } },
      };
    }
    const security =
      route.auth.kind === 'scopes'
        ? [{ apiKey: [] }, ...(route.auth.webhook ? [{ standardWebhooks: [] }] : [])]
        : route.auth.kind === 'enrolment'
          ? [{}, { bearer: [] }]
          : [];
    const operation: Record<string, unknown> = {
      operationId: route.operationId,
      summary: route.summary,
      ...(route.description ? { description: route.description } : {}),
      tags: [route.tag],
      security,
      ...(route.auth.kind === 'scopes' ? { 'x-idrelay-scopes': route.auth.scopes } : {}),
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(route.body
        ? {
            requestBody: {
              required: true,
              content: Object.fromEntries(
                route.body.mediaTypes.map((type) => [type, { schema: schemaOf(route.body!.schema, 'input') }]),
              ),
            },
          }
        : {}),
      responses,
    };
    paths[route.path] ??= {};
    (paths[route.path] as Record<string, unknown>)[route.method.toLowerCase()] = operation;
  }
  schemaOf(problemSchema, 'output');

  return {
    openapi: '3.1.0',
    info: {
      title: info.title,
      version: info.version,
      description:
        'The idrelay gateway: CloudEvents ingest, device enrolment, signed device responses, login verification, preview and inspection. Every refusal is an RFC 9457 problem document with idrelay’s error `code`.',
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    servers: [{ url: info.serverUrl }],
    tags: ['events', 'devices', 'actions', 'verifications', 'inspection', 'service'].map((name) => ({ name })),
    paths,
    components: {
      schemas: components,
      securitySchemes: {
        apiKey: { type: 'http', scheme: 'bearer', description: 'An API key `idr_…` with the route’s scope.' },
        bearer: { type: 'http', scheme: 'bearer', description: 'A token the relay’s `verifyBearer` accepts.' },
        standardWebhooks: {
          type: 'apiKey',
          in: 'header',
          name: 'webhook-signature',
          description: 'Standard Webhooks: `webhook-id`, `webhook-timestamp` and `webhook-signature` (HMAC-SHA256).',
        },
      },
    },
  };
}
