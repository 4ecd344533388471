import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider, {
  type Account,
  type BackchannelAuthenticationRequest,
  type CIBADeliveryMode,
  type ClientMetadata,
  type Configuration,
  errors,
  type JWK,
  type KoaContextWithOIDC,
} from 'oidc-provider';

/** A client registered at the test OP, with the secret it authenticates with (`client_secret_basic`). */
export interface OidcTestClient {
  clientId: string;
  clientSecret: string;
  /** The full metadata the OP was given. */
  metadata: ClientMetadata;
}

/**
 * Where the OP hands a CIBA request to the authentication device: called after the OP stored the request and
 * before it answers the client, exactly as `oidc-provider`'s `features.ciba.triggerAuthenticationDevice`. Finish
 * the request later with `provider.backchannelResult(request.jti, grantOrError, { amr, acr })`.
 *
 * @see https://openid.net/specs/openid-client-initiated-backchannel-authentication-core-1_0.html#rfc.section.7.1
 */
export type TriggerAuthenticationDevice = (
  ctx: KoaContextWithOIDC,
  request: BackchannelAuthenticationRequest,
  account: Account,
  client: InstanceType<Provider['Client']>,
) => Promise<void>;

/** CIBA settings of {@link startOidcProvider}. Every hook defaults to a permissive test value. */
export interface OidcProviderCibaOptions {
  /** Required: the authentication device channel (e.g. the relay's CIBA trigger). */
  triggerAuthenticationDevice: TriggerAuthenticationDevice;
  /** `login_hint` → account id; default: the hint itself when it names a known account, else unknown user. */
  processLoginHint?: (ctx: KoaContextWithOIDC, loginHint?: string) => Promise<string | undefined>;
  /** Default: accepts any (or no) `request_context`. */
  validateRequestContext?: (ctx: KoaContextWithOIDC, requestContext?: string) => Promise<void>;
  /** Default: accepts any (or no) `user_code`. */
  verifyUserCode?: (ctx: KoaContextWithOIDC, account: Account, userCode?: string) => Promise<void>;
  /**
   * Default: `oidc-provider`'s own rule, 1–20 characters of `[a-zA-Z0-9-._+/!?#]`, and no requirement that one is
   * sent. Throw `errors.InvalidBindingMessage` to refuse.
   */
  validateBindingMessage?: (ctx: KoaContextWithOIDC, bindingMessage?: string) => Promise<void>;
  /** Token delivery modes offered; default `['poll']`. `'ping'` needs a client with a notification endpoint. */
  deliveryModes?: readonly CIBADeliveryMode[];
  /**
   * The `interval` (seconds) put in the backchannel authentication response, which a polling client waits between
   * token requests. `oidc-provider` sends none, so clients wait the spec's default of 5 s; tests set it lower
   * (openid-client accepts fractions such as `0.05`). Default 5.
   */
  pollIntervalSeconds?: number;
}

/** Options of {@link startOidcProvider}. */
export interface OidcProviderOptions {
  /**
   * Accounts the OP knows: account id → extra ID token claims (`sub` is the id). `findAccount` answers only these;
   * default `{ alice: {}, bob: {} }`.
   */
  accounts?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  /**
   * Clients; default one CIBA poll client `ciba-client` with a random secret, also allowed `client_credentials`.
   * Entries without `client_secret` get a random one.
   */
  clients?: readonly ClientMetadata[];
  /** Enables CIBA (Client-Initiated Backchannel Authentication) with these hooks. Off when absent. */
  ciba?: OidcProviderCibaOptions;
  /** Lifetime of a backchannel authentication request, seconds (`expires_in`). Default 600. */
  cibaRequestTtlSeconds?: number;
  /** Port on 127.0.0.1; default 0 (a free one). */
  port?: number;
  /**
   * Resource servers (RFC 8707 resource indicators) for which the OP issues **JWT access tokens** (RFC 9068,
   * `typ: at+jwt`, signed with the OP's RS256 key): resource indicator (the token's `aud`, e.g.
   * `https://relay.example/v1`) → the scopes it accepts. A client gets one with `resource=<indicator>` on a
   * client-credentials or authorization-code token request. Without this option every access token is opaque.
   */
  resourceServers?: Readonly<Record<string, OidcResourceServer>>;
  /**
   * Turns on `oidc-provider`'s development login and consent pages (`/interaction/:uid`) for browser round trips
   * of the authorization code flow: any account id from `accounts` with any password signs in. A login form
   * submission may carry an extra `acr` field, which becomes the session's `acr` (default `interactions.acr`).
   * Off when absent (nothing logs in by itself).
   */
  interactions?: OidcProviderInteractionOptions;
  /** Requires PKCE on every authorization request, confidential clients included (OAuth 2.1). Default false. */
  requirePkce?: boolean;
}

/** A resource server of {@link OidcProviderOptions.resourceServers}. */
export interface OidcResourceServer {
  /** Space-separated scopes the resource server accepts (granted to clients that ask for them). */
  scope: string;
  /** Access token lifetime, seconds; default 600. */
  accessTokenTtlSeconds?: number;
}

/** Development interactions of {@link OidcProviderOptions.interactions}. */
export interface OidcProviderInteractionOptions {
  /** `acr` of a login that names none; default none. */
  acr?: string;
  /** `acr` values the OP advertises (`acr_values_supported`); default the `acr` given, if any. */
  acrValues?: readonly string[];
  /** `amr` of every login; default `['pwd']`. */
  amr?: readonly string[];
}

/** A running OpenID Provider on loopback; see {@link startOidcProvider}. */
export interface OidcTestProvider {
  /** `http://127.0.0.1:PORT`, the `iss` of every token. */
  readonly issuer: string;
  /** The issuer as a URL, for `openid-client`'s `discovery(url, clientId, secret, undefined, { execute: [allowInsecureRequests] })`. */
  readonly url: URL;
  /** The `oidc-provider` instance: `backchannelResult()`, `Grant`, `BackchannelAuthenticationRequest`, events. */
  readonly provider: Provider;
  /** `oidc-provider`'s error classes (`AccessDenied`, `ExpiredToken`…), for `backchannelResult(request, error)`. */
  readonly errors: typeof errors;
  readonly clients: readonly OidcTestClient[];
  /** The signing key's `kid` (unique per provider) and the public JWKS served at `/jwks`. */
  readonly keys: { readonly kid: string; readonly jwks: { keys: JWK[] } };
  /** Stops listening and drops every connection. */
  close(): Promise<void>;
}

type ResourceIndicatorsFeature = NonNullable<NonNullable<Configuration['features']>['resourceIndicators']>;

const DEFAULT_ACCOUNTS: Readonly<Record<string, Readonly<Record<string, unknown>>>> = { alice: {}, bob: {} };

/**
 * Starts a real OpenID Provider (`oidc-provider` 9) on `127.0.0.1` with a free port and its own RS256 key (a
 * fresh, unique `kid`), for tests of OIDC clients, resource servers and CIBA authentication devices. Development
 * interactions are off (nothing logs in by itself) unless `options.interactions` turns on the login and consent
 * pages; client credentials and introspection are on; JWT access tokens (RFC 9068) are issued for the
 * `options.resourceServers`; CIBA (poll mode, ping optional) is on when `options.ciba` is given, with every hook
 * delegated to the caller.
 *
 * Needs `oidc-provider` installed (an optional peer dependency) and is only reachable through the
 * `@idrelay/testkit/oidc` subpath, so the main entry never loads it.
 *
 * @see https://openid.net/specs/openid-client-initiated-backchannel-authentication-core-1_0.html (CIBA),
 * RFC 6749 §4.4 (client credentials), RFC 7662 (introspection)
 * @example
 * ```ts
 * const op = await startOidcProvider({
 *   ciba: {
 *     pollIntervalSeconds: 0.05,
 *     triggerAuthenticationDevice: async (ctx, request, account, client) => {
 *       const grant = new op.provider.Grant({ clientId: client.clientId, accountId: account.accountId });
 *       grant.addOIDCScope('openid');
 *       await op.provider.backchannelResult(request, await grant.save(), { amr: ['push'] });
 *     },
 *   },
 * });
 * const [client] = op.clients;
 * const config = await discovery(op.url, client.clientId, client.clientSecret, undefined, { execute: [allowInsecureRequests] });
 * await op.close();
 * ```
 */
export async function startOidcProvider(options: OidcProviderOptions = {}): Promise<OidcTestProvider> {
  const accounts = options.accounts ?? DEFAULT_ACCOUNTS;
  const ciba = options.ciba;
  if (ciba && typeof ciba.triggerAuthenticationDevice !== 'function') {
    throw new TypeError('startOidcProvider: ciba.triggerAuthenticationDevice must be a function');
  }
  const interval = ciba?.pollIntervalSeconds;
  if (interval !== undefined && !(Number.isFinite(interval) && interval > 0)) {
    throw new TypeError(`startOidcProvider: ciba.pollIntervalSeconds must be a positive number, got ${interval}`);
  }

  // The issuer carries the port, so the port is taken before the provider exists.
  let handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => {
    res.statusCode = 503;
    res.end();
  };
  const server = createServer((req, res) => handler(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const issuer = `http://127.0.0.1:${port}`;

  const kid = `idrelay-test-${randomUUID()}`;
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const privateJwk = { ...privateKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' } as JWK;
  const publicJwk = { ...publicKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' } as JWK;

  const clients = (options.clients ?? [defaultClient(ciba !== undefined)]).map((metadata) => {
    const clientSecret = metadata.client_secret ?? randomBytes(24).toString('base64url');
    return { clientId: metadata.client_id, clientSecret, metadata: { ...metadata, client_secret: clientSecret } };
  });
  const cibaModes = ciba?.deliveryModes ?? ['poll'];
  const resourceServers = options.resourceServers;
  const interactions = options.interactions;
  const acrValues = interactions?.acrValues ?? (interactions?.acr ? [interactions.acr] : []);

  const provider = new Provider(issuer, {
    jwks: { keys: [privateJwk] },
    clients: clients.map((c) => c.metadata),
    findAccount: async (_ctx, id) => {
      const claims = accounts[id];
      if (!claims) return undefined;
      return { accountId: id, claims: async () => ({ ...claims, sub: id }) };
    },
    // Under `openid` so every ID token carries how the user authenticated (amr: ['push']) without a `claims`
    // request parameter; oidc-provider otherwise drops amr and acr from token-endpoint ID tokens.
    claims: {
      iss: null,
      sid: null,
      openid: ['sub', 'acr', 'amr', 'auth_time'],
      email: ['email', 'email_verified'],
      profile: ['name'],
    },
    ...(acrValues.length > 0 ? { acrValues: [...acrValues] } : {}),
    ...(options.requirePkce ? { pkce: { required: () => true } } : {}),
    features: {
      devInteractions: { enabled: interactions !== undefined },
      ...(resourceServers ? { resourceIndicators: resourceIndicators(resourceServers) } : {}),
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      ciba: ciba
        ? {
            enabled: true,
            deliveryModes: cibaModes,
            processLoginHint:
              ciba.processLoginHint ??
              (async (_ctx, hint) => (hint && Object.hasOwn(accounts, hint) ? hint : undefined)),
            validateRequestContext: ciba.validateRequestContext ?? (async () => undefined),
            verifyUserCode: ciba.verifyUserCode ?? (async () => undefined),
            ...(ciba.validateBindingMessage ? { validateBindingMessage: ciba.validateBindingMessage } : {}),
            triggerAuthenticationDevice: ciba.triggerAuthenticationDevice,
          }
        : { enabled: false },
    },
    ttl: {
      BackchannelAuthenticationRequest: options.cibaRequestTtlSeconds ?? 600,
    },
  });
  if (interval !== undefined) {
    // CIBA §7.3: `interval` is optional; oidc-provider leaves it out, which makes clients wait 5 s per poll.
    provider.use(async (ctx, next) => {
      await next();
      const body = ctx.body as { auth_req_id?: unknown } | undefined;
      if (ctx.path === '/backchannel' && ctx.status === 200 && body?.auth_req_id) {
        ctx.body = { ...body, interval };
      }
    });
  }
  if (interactions) {
    // The dev login page only knows an account id; reading its form here lets a test pick the session's `acr`
    // (step-up) and sets `amr`. Consent and everything else stay with oidc-provider (it reads the parsed body).
    provider.use(async (ctx, next) => {
      if (ctx.method !== 'POST' || !/^\/interaction\/[^/]+$/.test(ctx.path)) return next();
      const chunks: Buffer[] = [];
      for await (const chunk of ctx.req) chunks.push(chunk as Buffer);
      const form = Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8')));
      (ctx.request as unknown as { body: unknown }).body = form;
      if (form.prompt !== 'login') return next();
      const acr = form.acr || interactions.acr;
      await provider.interactionFinished(
        ctx.req,
        ctx.res,
        { login: { accountId: String(form.login), ...(acr ? { acr } : {}), amr: [...(interactions.amr ?? ['pwd'])] } },
        { mergeWithLastSubmission: false },
      );
      ctx.respond = false;
    });
  }
  const callback = provider.callback();
  handler = (req, res) => void callback(req, res);

  return {
    issuer,
    url: new URL(issuer),
    provider,
    errors,
    clients,
    keys: { kid, jwks: { keys: [publicJwk] } },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

/** RFC 8707 resource indicators whose access tokens are RFC 9068 JWTs, for {@link OidcProviderOptions.resourceServers}. */
function resourceIndicators(servers: Readonly<Record<string, OidcResourceServer>>): ResourceIndicatorsFeature {
  return {
    enabled: true,
    defaultResource: async (_ctx, _client, oneOf) => oneOf,
    useGrantedResource: async () => true,
    getResourceServerInfo: async (_ctx, indicator) => {
      const server = Object.hasOwn(servers, indicator) ? servers[indicator] : undefined;
      if (!server) throw new errors.InvalidTarget();
      return {
        scope: server.scope,
        audience: indicator,
        accessTokenTTL: server.accessTokenTtlSeconds ?? 600,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: 'RS256' } },
      };
    },
  };
}

function defaultClient(withCiba: boolean): ClientMetadata {
  return {
    client_id: 'ciba-client',
    grant_types: withCiba ? ['urn:openid:params:grant-type:ciba', 'client_credentials'] : ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_basic',
    ...(withCiba ? { backchannel_token_delivery_mode: 'poll' } : {}),
  };
}
