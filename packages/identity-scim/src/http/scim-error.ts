/**
 * SCIM error responses (RFC 7644 §3.12): `urn:ietf:params:scim:api:messages:2.0:Error` with `status` as a string
 * and, for 400/409/412, a `scimType` naming the problem.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7644#section-3.12
 */

/** The `scimType` values of RFC 7644 §3.12 this endpoint answers with. */
export type ScimType =
  | 'invalidFilter'
  | 'tooMany'
  | 'uniqueness'
  | 'mutability'
  | 'invalidSyntax'
  | 'invalidPath'
  | 'noTarget'
  | 'invalidValue'
  | 'invalidVers';

/** A SCIM protocol failure the handler turns into an RFC 7644 §3.12 error response. */
export class ScimProblem extends Error {
  override readonly name = 'ScimProblem';
  readonly status: number;
  readonly scimType: ScimType | undefined;

  constructor(status: number, detail: string, scimType?: ScimType) {
    super(detail);
    this.status = status;
    this.scimType = scimType;
  }
}

export const SCIM_MEDIA_TYPE = 'application/scim+json';

/** The RFC 7644 §3.12 error body for a problem. */
export function problemResponse(problem: ScimProblem, headers: Record<string, string> = {}): Response {
  const body: Record<string, unknown> = {
    schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'],
    status: String(problem.status),
    detail: problem.message,
  };
  if (problem.scimType !== undefined) body.scimType = problem.scimType;
  return new Response(JSON.stringify(body), {
    status: problem.status,
    headers: { 'content-type': SCIM_MEDIA_TYPE, ...headers },
  });
}

/** A SCIM JSON response. */
export function scimJson(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': SCIM_MEDIA_TYPE, ...headers } });
}
