/**
 * `@idrelay/identity-scim`: a SCIM 2.0 (RFC 7643, RFC 7644) provisioning endpoint for idrelay, and a SCIM client
 * as a write-back.
 *
 * @packageDocumentation
 */

export { hashScimToken } from './auth/bearer-tokens.js';
export {
  createScimWriteBack,
  type ScimPatchOperation,
  type ScimWriteBackOptions,
  type ScimWriteBackPlan,
} from './client/create-scim-write-back.js';
export {
  createScimHandler,
  type ScimHandler,
  type ScimHandlerOptions,
  type ScimTenant,
} from './create-scim-handler.js';
export { SCIM_ERRORS } from './errors.js';
