/**
 * `@idrelay/testkit/oidc`: a real OpenID Provider (`oidc-provider` 9) on loopback for tests — client credentials,
 * introspection and CIBA with the authentication-device hooks delegated to the test. Needs `oidc-provider`
 * installed (an optional peer dependency); the main entry never loads it.
 *
 * @packageDocumentation
 */

export {
  type OidcProviderCibaOptions,
  type OidcProviderInteractionOptions,
  type OidcProviderOptions,
  type OidcResourceServer,
  type OidcTestClient,
  type OidcTestProvider,
  startOidcProvider,
  type TriggerAuthenticationDevice,
} from './oidc/oidc-provider.js';
