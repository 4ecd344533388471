/**
 * The attributes this endpoint serves, described as RFC 7643 §7 schema attributes: the one source for `/Schemas`,
 * filter evaluation (type, `caseExact`), sorting and `attributes`/`excludedAttributes` projection.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7643#section-7
 */

export const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const ENTERPRISE_SCHEMA = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group';

/** RFC 7643 §2.3 data types this endpoint uses. */
export type AttributeType = 'string' | 'boolean' | 'dateTime' | 'reference' | 'complex' | 'integer' | 'decimal';

/** One attribute of a schema (RFC 7643 §7). */
export interface AttributeDefinition {
  name: string;
  type: AttributeType;
  multiValued: boolean;
  required: boolean;
  caseExact: boolean;
  mutability: 'readOnly' | 'readWrite' | 'immutable' | 'writeOnly';
  returned: 'always' | 'never' | 'default' | 'request';
  uniqueness: 'none' | 'server' | 'global';
  description: string;
  subAttributes?: AttributeDefinition[];
  referenceTypes?: string[];
}

function attr(
  name: string,
  type: AttributeType,
  description: string,
  more: Partial<Omit<AttributeDefinition, 'name' | 'type' | 'description'>> = {},
): AttributeDefinition {
  return {
    name,
    type,
    multiValued: false,
    required: false,
    caseExact: false,
    mutability: 'readWrite',
    returned: 'default',
    uniqueness: 'none',
    description,
    ...more,
  };
}

const META = attr('meta', 'complex', 'Resource metadata (RFC 7643 §3.1).', {
  mutability: 'readOnly',
  subAttributes: [
    attr('resourceType', 'string', 'The resource type.', { mutability: 'readOnly', caseExact: true }),
    attr('lastModified', 'dateTime', 'When the resource last changed.', { mutability: 'readOnly' }),
    attr('location', 'reference', 'The URI of the resource.', { mutability: 'readOnly', caseExact: true }),
    attr('version', 'string', 'The entity tag of the resource.', { mutability: 'readOnly', caseExact: true }),
  ],
});

const ID = attr('id', 'string', 'Identifier assigned by this service provider.', {
  mutability: 'readOnly',
  returned: 'always',
  caseExact: true,
  uniqueness: 'server',
});

const EXTERNAL_ID = attr('externalId', 'string', "The provisioning client's identifier.", { caseExact: true });

/** Core User attributes kept by this endpoint (RFC 7643 §4.1). */
export const USER_ATTRIBUTES: AttributeDefinition[] = [
  ID,
  EXTERNAL_ID,
  attr('userName', 'string', 'Unique identifier for the user, compared without case.', {
    required: true,
    uniqueness: 'server',
  }),
  attr('name', 'complex', "The user's name.", {
    subAttributes: [attr('givenName', 'string', 'Given name.'), attr('familyName', 'string', 'Family name.')],
  }),
  attr('displayName', 'string', 'The name displayed to end users.'),
  attr('title', 'string', "The user's title."),
  attr('locale', 'string', 'BCP 47 language tag used for notifications.'),
  attr('timezone', 'string', 'IANA time zone used for quiet hours.'),
  attr('active', 'boolean', 'false for a deactivated account: kept, but never in an audience.'),
  attr('emails', 'complex', 'E-mail addresses; the primary one is a subject identifier.', {
    multiValued: true,
    subAttributes: [
      attr('value', 'string', 'The address.'),
      attr('type', 'string', 'work, home or other.'),
      attr('primary', 'boolean', 'The preferred address.'),
    ],
  }),
  META,
];

/** Enterprise User extension attributes kept by this endpoint (RFC 7643 §4.3). */
export const ENTERPRISE_ATTRIBUTES: AttributeDefinition[] = [
  attr('employeeNumber', 'string', 'Employee number.'),
  attr('costCenter', 'string', 'Cost center.'),
  attr('organization', 'string', 'Organization.'),
  attr('division', 'string', 'Division.'),
  attr('department', 'string', 'Department (a change makes the user a mover).'),
  attr('manager', 'complex', "The user's manager (a change makes the user a mover).", {
    subAttributes: [
      attr('value', 'string', 'The id of the manager.', { caseExact: true }),
      attr('$ref', 'reference', 'The URI of the manager.', { caseExact: true, referenceTypes: ['User'] }),
    ],
  }),
];

/** Group attributes (RFC 7643 §4.2). */
export const GROUP_ATTRIBUTES: AttributeDefinition[] = [
  ID,
  attr('displayName', 'string', 'The name of the group.', { required: true }),
  attr('members', 'complex', 'The users in the group.', {
    multiValued: true,
    subAttributes: [
      attr('value', 'string', 'The id of a member.', { mutability: 'immutable', caseExact: true }),
      attr('$ref', 'reference', 'The URI of the member.', {
        mutability: 'immutable',
        caseExact: true,
        referenceTypes: ['User'],
      }),
      attr('type', 'string', 'User.', { mutability: 'immutable', caseExact: true }),
      attr('display', 'string', 'The display name of the member.', { mutability: 'readOnly' }),
    ],
  }),
  META,
];

/** A resource type as the query code sees it: its core schema, its attributes and optional extension. */
export interface ResourceSchema {
  name: 'User' | 'Group';
  schema: string;
  attributes: AttributeDefinition[];
  extension?: { schema: string; attributes: AttributeDefinition[] };
}

export const USER_RESOURCE: ResourceSchema = {
  name: 'User',
  schema: USER_SCHEMA,
  attributes: USER_ATTRIBUTES,
  extension: { schema: ENTERPRISE_SCHEMA, attributes: ENTERPRISE_ATTRIBUTES },
};

export const GROUP_RESOURCE: ResourceSchema = { name: 'Group', schema: GROUP_SCHEMA, attributes: GROUP_ATTRIBUTES };

/** An attribute reference resolved against a resource schema. */
export interface ResolvedPath {
  /** The extension URN holding the attribute, or `undefined` for a core attribute. */
  extension?: string;
  attribute: AttributeDefinition;
  sub?: AttributeDefinition;
}

function find(list: readonly AttributeDefinition[] | undefined, name: string): AttributeDefinition | undefined {
  const lower = name.toLowerCase();
  return list?.find((candidate) => candidate.name.toLowerCase() === lower);
}

/**
 * Resolves `[schemaURN ":"] name ["." subName]` (RFC 7644 §3.10; names compare without case, RFC 7643 §2.1), or
 * returns `undefined` for an attribute the resource does not have.
 */
export function resolvePath(resource: ResourceSchema, path: string): ResolvedPath | undefined {
  let rest = path;
  let attributes = resource.attributes;
  let extension: string | undefined;
  const lower = path.toLowerCase();
  if (resource.extension !== undefined && lower.startsWith(`${resource.extension.schema.toLowerCase()}:`)) {
    rest = path.slice(resource.extension.schema.length + 1);
    attributes = resource.extension.attributes;
    extension = resource.extension.schema;
  } else if (lower.startsWith(`${resource.schema.toLowerCase()}:`)) {
    rest = path.slice(resource.schema.length + 1);
  }
  const [name, subName, extra] = rest.split('.');
  if (name === undefined || extra !== undefined) return undefined;
  let attribute = find(attributes, name);
  if (attribute === undefined && rest === path && resource.extension !== undefined) {
    // A name without a URN that only the extension has (`department`) means the extension's attribute.
    attribute = find(resource.extension.attributes, name);
    if (attribute !== undefined) extension = resource.extension.schema;
  }
  if (attribute === undefined) return undefined;
  if (subName === undefined) return extension === undefined ? { attribute } : { extension, attribute };
  const sub = find(attribute.subAttributes, subName);
  if (sub === undefined) return undefined;
  return extension === undefined ? { attribute, sub } : { extension, attribute, sub };
}

/** The `/Schemas` representation of a schema (RFC 7643 §7). */
export function schemaResource(
  id: string,
  name: string,
  description: string,
  attributes: AttributeDefinition[],
  base: string,
): Record<string, unknown> {
  return {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:Schema'],
    id,
    name,
    description,
    // `id` and `meta` are common attributes (RFC 7643 §3.1), not listed in a schema.
    attributes: attributes.filter((entry) => entry.name !== 'id' && entry.name !== 'meta'),
    meta: { resourceType: 'Schema', location: `${base}/Schemas/${id}` },
  };
}
