/**
 * Environment overrides, applied over the configuration file before validation. Each names the key it sets, so a
 * bad value is reported as `port: expected a number between 1 and 65535 (from IDRELAY_PORT)`.
 */
export interface EnvOverride {
  /** The variable's name. */
  readonly env: string;
  /** The dotted configuration key it sets. */
  readonly key: string;
  /** How the value is written, for the reference. */
  readonly format: string;
  /** Turns the variable's text into the value set at `key`. */
  readonly parse: (text: string) => unknown;
}

const text = (value: string) => value;
const number = (value: string) => (/^-?\d+(\.\d+)?$/.test(value.trim()) ? Number(value) : value);
const boolean = (value: string) => {
  const v = value.trim().toLowerCase();
  return v === 'true' || v === '1' ? true : v === 'false' || v === '0' ? false : value;
};
const list = (value: string) =>
  value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0);

/** `idr_…:ingest+preview` entries, comma-separated; a key without `:scopes` gets `ingest`. */
function apiKeys(value: string): unknown {
  return list(value).map((entry, index) => {
    const [key = '', scopeText = 'ingest'] = entry.split(':');
    return { id: `env-${index + 1}`, key, scopes: scopeText.split('+').filter(Boolean) };
  });
}

function webhookSecrets(value: string): unknown {
  return list(value).map((secret, index) => ({ id: `env-${index + 1}`, secret }));
}

/** Every environment variable the gateway reads, in the order they are applied. */
export const ENV_OVERRIDES: readonly EnvOverride[] = [
  { env: 'IDRELAY_HOST', key: 'host', format: 'text', parse: text },
  { env: 'IDRELAY_PORT', key: 'port', format: 'number', parse: number },
  { env: 'IDRELAY_PUBLIC_URL', key: 'publicUrl', format: 'URL', parse: text },
  { env: 'IDRELAY_DATA_DIR', key: 'dataDir', format: 'path', parse: text },
  { env: 'IDRELAY_LOG_LEVEL', key: 'logLevel', format: 'level', parse: text },
  {
    env: 'DATABASE_URL',
    key: 'store',
    format: 'postgres:// URL (switches the store to PostgreSQL)',
    parse: (url) => ({ kind: 'postgres', url }),
  },
  {
    env: 'IDRELAY_API_KEYS',
    key: 'apiKeys',
    format: '`idr_…:scope+scope`, comma-separated (scopes default `ingest`); replaces the file’s keys',
    parse: apiKeys,
  },
  {
    env: 'IDRELAY_WEBHOOK_SECRETS',
    key: 'webhooks.secrets',
    format: '`whsec_…`, comma-separated (scope `ingest`); replaces the file’s senders',
    parse: webhookSecrets,
  },
  { env: 'IDRELAY_SANDBOX', key: 'transports.sandbox', format: 'true or false', parse: boolean },
  { env: 'IDRELAY_APNS_KEY_PATH', key: 'transports.apns.keyPath', format: 'path', parse: text },
  { env: 'IDRELAY_APNS_KEY_ID', key: 'transports.apns.keyId', format: 'text', parse: text },
  { env: 'IDRELAY_APNS_TEAM_ID', key: 'transports.apns.teamId', format: 'text', parse: text },
  { env: 'IDRELAY_APNS_TOPIC', key: 'transports.apns.topic', format: 'text', parse: text },
  { env: 'IDRELAY_FCM_SERVICE_ACCOUNT', key: 'transports.fcm.serviceAccountPath', format: 'path', parse: text },
  { env: 'IDRELAY_VAPID_PUBLIC_KEY', key: 'transports.webpush.publicKey', format: 'base64url', parse: text },
  { env: 'IDRELAY_VAPID_PRIVATE_KEY', key: 'transports.webpush.privateKey', format: 'base64url', parse: text },
  { env: 'IDRELAY_VAPID_SUBJECT', key: 'transports.webpush.subject', format: 'mailto: or https: URI', parse: text },
];

/**
 * Sets every override present in `env` on a copy of `config`; returns the copy and which key came from which
 * variable (for error messages). Empty variables are ignored.
 */
export function applyEnv(
  config: Record<string, unknown>,
  env: Readonly<Record<string, string | undefined>>,
): { config: Record<string, unknown>; sources: Map<string, string> } {
  const result = clonePlain(config) as Record<string, unknown>;
  const sources = new Map<string, string>();
  for (const override of ENV_OVERRIDES) {
    const value = env[override.env];
    if (value === undefined || value.trim() === '') continue;
    setPath(result, override.key.split('.'), override.parse(value));
    sources.set(override.key, override.env);
  }
  return { config: result, sources };
}

function setPath(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = target;
  for (const segment of path.slice(0, -1)) {
    const next = node[segment];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[segment] = {};
    node = node[segment] as Record<string, unknown>;
  }
  node[path[path.length - 1] as string] = value;
}

function clonePlain(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(clonePlain);
  if (typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, clonePlain(v)]));
  }
  return value;
}
