/**
 * `@idrelay/identity-scim`: a SCIM 2.0 (RFC 7643, RFC 7644) provisioning endpoint for idrelay.
 *
 * @packageDocumentation
 */

export { hashScimToken } from './auth/bearer-tokens.js';
export {
  createScimHandler,
  type ScimDirectory,
  type ScimHandler,
  type ScimHandlerOptions,
} from './create-scim-handler.js';
