import { ScimProblem } from '../http/scim-error.js';

/**
 * The filters this endpoint answers (RFC 7644 §3.4.2.2): `userName eq "…"`, `externalId eq "…"` and `id eq "…"`,
 * the lookups Entra and Okta make before creating a user. Any other filter is refused with `invalidFilter`.
 */
export interface UserLookup {
  attribute: 'userName' | 'externalId' | 'id';
  value: string;
}

const LOOKUP = /^\s*(userName|externalId|id)\s+eq\s+"((?:[^"\\]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*)"\s*$/i;

/** Parses a lookup filter. */
export function parseUserFilter(filter: string): UserLookup {
  if (filter.length > 2048) throw new ScimProblem(400, 'The filter is too long', 'invalidFilter');
  const match = LOOKUP.exec(filter);
  if (match?.[1] === undefined || match[2] === undefined) {
    throw new ScimProblem(
      400,
      'Unsupported filter: only userName, externalId or id with eq and a quoted string are supported',
      'invalidFilter',
    );
  }
  const name = match[1].toLowerCase();
  const attribute = name === 'username' ? 'userName' : name === 'externalid' ? 'externalId' : 'id';
  // The quoted value is a JSON string (RFC 7644 §3.4.2.2 compValue).
  return { attribute, value: JSON.parse(`"${match[2]}"`) as string };
}
