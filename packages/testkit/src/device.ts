/**
 * `@idrelay/testkit/device`: a simulated phone or browser that follows docs/protocol.md — its own key pair,
 * enrolment, pushes read from the sandbox stand-ins (Web Push decrypted as a browser does), signed details
 * requests and decisions. Used by `idrelay device …`, the demo and the end-to-end tests.
 *
 * @packageDocumentation
 */

export { type DeviceProblem, DeviceRequestError, PushTimeoutError } from './device/device-error.js';
export { createDeviceKey, type DeviceAlgorithm, type DeviceKey } from './device/device-key.js';
export { type ProofInput, signDeviceProof } from './device/proof.js';
export {
  type PushAddress,
  type PushChannel,
  type SandboxStandIns,
  sandboxPushChannel,
  type WirePush,
} from './device/push-channel.js';
export { type ReceivedPush, readPush } from './device/read-push.js';
export {
  createPushChannelHandler,
  type RemotePushChannelOptions,
  remotePushChannel,
} from './device/remote-channel.js';
export {
  type Answerable,
  createSimulatedDevice,
  type DeviceFetch,
  type PushDetails,
  type RespondResult,
  type SimulatedDevice,
  type SimulatedDeviceOptions,
  type SimulatedDeviceState,
} from './device/simulated-device.js';
