/**
 * `@idrelay/identity-otds`: an OpenText Directory Services connector for idrelay — a REST client (ticket or OAuth
 * client-credentials authentication, paged listings, retries), a `Directory` for audiences, a change poller as a
 * pull `IdentitySource`, and a `WriteBack` that patches user attributes and group memberships.
 *
 * @packageDocumentation
 */

export type { OtdsAuth } from './client/auth.js';
export {
  createOtdsClient,
  type OtdsCallOptions,
  type OtdsClient,
  type OtdsClientOptions,
  type OtdsListOptions,
} from './client/create-otds-client.js';
export type { OtdsAttributeValues, OtdsGroup, OtdsMembers, OtdsPage, OtdsUser } from './client/otds-types.js';
export {
  createOtdsDirectory,
  type OtdsApprovers,
  type OtdsDirectoryOptions,
} from './directory/create-otds-directory.js';
export { DEFAULT_ATTRIBUTE_MAPPING, type OtdsAttributeMapping } from './directory/map-user.js';
export { OTDS_ERRORS, type OtdsErrorCode } from './errors.js';
export {
  createOtdsChangePoller,
  DEFAULT_TRACKED_ATTRIBUTES,
  type OtdsChangePoller,
  type OtdsChangePollerOptions,
} from './poller/create-otds-change-poller.js';
export {
  type AcknowledgementPlanOptions,
  acknowledgementPlan,
  createOtdsWriteBack,
  type OtdsWriteBackOptions,
  type OtdsWriteBackPlan,
} from './write-back/create-otds-write-back.js';
