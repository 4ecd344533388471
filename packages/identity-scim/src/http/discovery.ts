import {
  ENTERPRISE_ATTRIBUTES,
  ENTERPRISE_SCHEMA,
  GROUP_ATTRIBUTES,
  GROUP_SCHEMA,
  schemaResource,
  USER_ATTRIBUTES,
  USER_SCHEMA,
} from '../schemas/attribute-schema.js';
import { ScimProblem, scimJson } from './scim-error.js';

/**
 * The discovery endpoints of RFC 7644 §4: `/ServiceProviderConfig` (RFC 7643 §5) and `/ResourceTypes`
 * (RFC 7643 §6), describing what this endpoint really supports.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7643#section-5
 */

function schemas(base: string): Record<string, unknown>[] {
  return [
    schemaResource(USER_SCHEMA, 'User', 'User Account', USER_ATTRIBUTES, base),
    schemaResource(ENTERPRISE_SCHEMA, 'EnterpriseUser', 'Enterprise User', ENTERPRISE_ATTRIBUTES, base),
    schemaResource(GROUP_SCHEMA, 'Group', 'Group', GROUP_ATTRIBUTES, base),
  ];
}

function listOf(resources: Record<string, unknown>[]): Response {
  return scimJson(200, {
    schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'],
    totalResults: resources.length,
    startIndex: 1,
    itemsPerPage: resources.length,
    Resources: resources,
  });
}

/**
 * Answers a GET on a discovery path (`/ServiceProviderConfig`, `/ResourceTypes[/{id}]`, `/Schemas[/{id}]`), or
 * `undefined` when the path is not one.
 */
export function discovery(
  resource: string,
  id: string | undefined,
  method: string,
  base: string,
  maxResults: number,
): Response | undefined {
  if (resource !== 'ServiceProviderConfig' && resource !== 'ResourceTypes' && resource !== 'Schemas') return undefined;
  if (method !== 'GET') throw new ScimProblem(405, `${method} is not allowed on /${resource}`);
  if (resource === 'Schemas') {
    const all = schemas(base);
    if (id === undefined || id === '') return listOf(all);
    const found = all.find((schema) => schema.id === id);
    if (found === undefined) throw new ScimProblem(404, `No schema ${id}`);
    return scimJson(200, found);
  }
  if (resource === 'ServiceProviderConfig') {
    if (id !== undefined && id !== '') throw new ScimProblem(404, `No resource at /ServiceProviderConfig/${id}`);
    return scimJson(200, {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig'],
      patch: { supported: true },
      bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
      filter: { supported: true, maxResults },
      changePassword: { supported: false },
      sort: { supported: true },
      etag: { supported: true },
      authenticationSchemes: [
        {
          type: 'oauthbearertoken',
          name: 'Bearer token',
          description:
            'A static bearer token (RFC 6750 §2.1) configured on the relay, or an OAuth 2.0 access token when verifyBearer is set',
          specUri: 'https://www.rfc-editor.org/rfc/rfc6750',
          primary: true,
        },
      ],
      meta: { resourceType: 'ServiceProviderConfig', location: `${base}/ServiceProviderConfig` },
    });
  }
  const types = [
    {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:ResourceType'],
      id: 'User',
      name: 'User',
      endpoint: '/Users',
      schema: USER_SCHEMA,
      schemaExtensions: [{ schema: ENTERPRISE_SCHEMA, required: false }],
      meta: { resourceType: 'ResourceType', location: `${base}/ResourceTypes/User` },
    },
    {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:ResourceType'],
      id: 'Group',
      name: 'Group',
      endpoint: '/Groups',
      schema: GROUP_SCHEMA,
      meta: { resourceType: 'ResourceType', location: `${base}/ResourceTypes/Group` },
    },
  ];
  if (id === undefined || id === '') return listOf(types);
  const found = types.find((type) => type.id === id);
  if (found === undefined) throw new ScimProblem(404, `No resource type ${id}`);
  return scimJson(200, found);
}
