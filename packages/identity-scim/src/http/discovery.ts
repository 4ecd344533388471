import { ScimProblem, scimJson } from './scim-error.js';

/**
 * The discovery endpoints of RFC 7644 §4: `/ServiceProviderConfig` (RFC 7643 §5) and `/ResourceTypes`
 * (RFC 7643 §6), describing what this endpoint really supports.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7643#section-5
 */

const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
const ENTERPRISE_SCHEMA = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group';

/** Answers a GET on a discovery path, or `undefined` when the path is not one. */
export function discovery(resource: string, method: string, base: string, maxResults: number): Response | undefined {
  if (resource !== 'ServiceProviderConfig' && resource !== 'ResourceTypes') return undefined;
  if (method !== 'GET') throw new ScimProblem(405, `${method} is not allowed on /${resource}`);
  if (resource === 'ServiceProviderConfig') {
    return scimJson(200, {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig'],
      patch: { supported: true },
      bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
      // Only the lookup filters (userName, externalId, id with eq); others are refused with invalidFilter.
      filter: { supported: true, maxResults },
      changePassword: { supported: false },
      sort: { supported: false },
      etag: { supported: true },
      authenticationSchemes: [
        {
          type: 'oauthbearertoken',
          name: 'Bearer token',
          description: 'A static bearer token (RFC 6750 §2.1) configured on the relay',
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
  return scimJson(200, {
    schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'],
    totalResults: types.length,
    startIndex: 1,
    itemsPerPage: types.length,
    Resources: types,
  });
}
