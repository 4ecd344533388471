import { ScimProblem } from '../http/scim-error.js';
import type { ScimUser } from './scim-user.js';
import { setUserAttribute } from './user-attributes.js';

/**
 * PATCH for Users (RFC 7644 §3.5.2) with the quirks real clients send: Entra's capitalised `"Replace"`/`"Add"`
 * and string booleans, and Okta's and Entra's operations without a `path` whose value is an object of attributes.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7644#section-3.5.2
 */

export const PATCH_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

const MAX_OPERATIONS = 1000;

/** Applies a PatchOp body to a copy of `current` and returns the copy. */
export function patchUser(current: ScimUser, body: unknown): ScimUser {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ScimProblem(400, 'The body must be a JSON object', 'invalidSyntax');
  }
  const raw = body as Record<string, unknown>;
  if (!Array.isArray(raw.schemas) || !raw.schemas.includes(PATCH_SCHEMA)) {
    throw new ScimProblem(400, `schemas must be ["${PATCH_SCHEMA}"]`, 'invalidSyntax');
  }
  const operations = raw.Operations ?? raw.operations;
  if (!Array.isArray(operations) || operations.length === 0 || operations.length > MAX_OPERATIONS) {
    throw new ScimProblem(400, `Operations must be an array of 1 to ${MAX_OPERATIONS} operations`, 'invalidSyntax');
  }
  const user: ScimUser = { ...current, emails: current.emails.map((email) => ({ ...email })) };
  operations.forEach((operation: unknown, index) => {
    if (typeof operation !== 'object' || operation === null) {
      throw new ScimProblem(400, `Operations[${index}] must be an object`, 'invalidSyntax');
    }
    const { op, path, value } = operation as Record<string, unknown>;
    const kind = typeof op === 'string' ? op.toLowerCase() : undefined;
    if (kind !== 'add' && kind !== 'replace' && kind !== 'remove') {
      throw new ScimProblem(400, `Operations[${index}].op must be add, replace or remove`, 'invalidSyntax');
    }
    if (path !== undefined && (typeof path !== 'string' || path.length === 0 || path.length > 512)) {
      throw new ScimProblem(400, `Operations[${index}].path must be a non-empty attribute path`, 'invalidPath');
    }
    if (kind === 'remove') {
      // RFC 7644 §3.5.2.2: remove without a path is refused with noTarget.
      if (path === undefined) throw new ScimProblem(400, 'remove needs a path', 'noTarget');
      setUserAttribute(user, path, null);
      return;
    }
    if (path !== undefined) {
      setUserAttribute(user, path, value);
      return;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new ScimProblem(400, `Operations[${index}].value must be an object when there is no path`, 'invalidValue');
    }
    for (const [name, member] of Object.entries(value as Record<string, unknown>)) setUserAttribute(user, name, member);
  });
  return user;
}
