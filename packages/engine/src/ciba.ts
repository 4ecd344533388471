/**
 * `@idrelay/engine/ciba`: the relay as the authentication device of an OpenID Provider's Client-Initiated
 * Backchannel Authentication (CIBA). {@link createCibaTrigger} gives `oidc-provider`'s `features.ciba` hooks a push
 * login verification whose number-matching code is the client's `binding_message`; {@link createCibaWriteBack}
 * reports each outcome to the OP through the relay's durable outgoing log. Structural types only: the engine does
 * not depend on `oidc-provider`.
 *
 * @see https://openid.net/specs/openid-client-initiated-backchannel-authentication-core-1_0.html
 * @packageDocumentation
 */

export { CIBA_LINK_KIND, type CibaErrors, type CibaLink, type CibaProvider } from './ciba/ciba-link.js';
export {
  type CibaRequestLike,
  type CibaSignInContext,
  type CibaTrigger,
  type CibaTriggerOptions,
  createCibaTrigger,
} from './ciba/ciba-trigger.js';
export { type CibaWriteBackOptions, createCibaWriteBack } from './ciba/ciba-write-back.js';
