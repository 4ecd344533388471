/**
 * `@idrelay/testkit/otds`: an in-memory OpenText Directory Services behind msw request handlers, for testing
 * `@idrelay/identity-otds` and partners' own OTDS integrations without an OTDS server. Needs `msw` installed (an
 * optional peer dependency).
 *
 * @packageDocumentation
 */

export {
  type OtdsFault,
  type OtdsHandlersOptions,
  type OtdsMswHandlers,
  type OtdsRecordedRequest,
  otdsHandlers,
} from './otds/otds-handlers.js';
export { createOtdsMockServer, type OtdsMockServer } from './otds/otds-server.js';
export type { OtdsMockGroup, OtdsMockState, OtdsMockUser, OtdsSeedGroup, OtdsSeedUser } from './otds/otds-state.js';
