/**
 * `@idrelay/testkit/contracts`: the vitest suites every implementation of a core port passes. Call one inside a
 * test file; each registers its own `describe` block.
 *
 * @example
 * ```ts
 * import { transportContract } from '@idrelay/testkit/contracts';
 * transportContract({ name: 'my transport', payloadTooLargeCode: 'ERR_X_PAYLOAD_TOO_LARGE', setup });
 * ```
 * @packageDocumentation
 */

export {
  type ContractReceivedPush,
  type ContractTargetKind,
  type TransportContractHarness,
  type TransportContractOptions,
  transportContract,
} from './contract/transport-contract.js';
export {
  DIRECTORY_FIXTURE,
  type DirectoryContractOptions,
  directoryContract,
} from './directory/directory-contract.js';
export type { StoreMigrationHooks } from './store-contract/fixtures.js';
export { type StoreContractOptions, storeContract } from './store-contract/store-contract.js';
