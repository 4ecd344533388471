import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { IdrelayError } from '@idrelay/core';
import type { z } from 'zod';
import './config-errors.js';
import { applyEnv } from './env.js';
import { configSchema, type GatewayConfigInput, type ParsedConfig, type Scope } from './schema.js';

/** The file names `loadConfig` looks for, in this order. */
export const CONFIG_FILES = [
  'idrelay.config.ts',
  'idrelay.config.mts',
  'idrelay.config.js',
  'idrelay.config.mjs',
  'idrelay.config.json',
] as const;

/** An API key as the gateway holds it: never the key, only its SHA-256. */
export interface ApiKeyEntry {
  readonly id: string;
  /** SHA-256 of the key, lowercase hex. */
  readonly sha256: string;
  readonly scopes: readonly Scope[];
}

/**
 * The validated configuration with defaults applied and paths resolved: `dataDir` and file paths absolute,
 * `publicUrl` filled in (no trailing slash), `store` always set, API keys reduced to their hashes.
 */
export type GatewayConfig = Omit<ParsedConfig, 'apiKeys' | 'store' | 'publicUrl'> & {
  publicUrl: string;
  store: { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string } | { kind: 'memory' };
  apiKeys: readonly ApiKeyEntry[];
};

/** Options of {@link loadConfig}. */
export interface LoadConfigOptions {
  /** The working directory: where config files are looked for and relative paths resolve. Default `process.cwd()`. */
  cwd?: string;
  /** Environment variables to apply (see `ENV_OVERRIDES`). Default `process.env`; pass `{}` to ignore it. */
  env?: Readonly<Record<string, string | undefined>>;
  /** A config file to read instead of looking for `idrelay.config.*`; it must exist. */
  file?: string;
}

/** The loaded configuration and where it came from. */
export interface LoadedConfig {
  config: GatewayConfig;
  /** The file read, if any. */
  file: string | undefined;
}

/**
 * Reads `idrelay.config.ts` / `.mts` / `.js` / `.mjs` / `.json` from `cwd` (or `file`), applies environment
 * overrides (`DATABASE_URL`, `IDRELAY_*`), validates everything with {@link configSchema} and resolves defaults.
 * TypeScript files are loaded with a dynamic `import()`, so run under a loader that handles them (tsx, or Node with
 * type stripping); their default export (or `config` export) is the configuration.
 *
 * @throws {IdrelayError} `ERR_CONFIG_INVALID` naming the first bad key (`port: expected a number between 1 and
 *   65535`; every issue in `details.issues`), `ERR_CONFIG_FILE` when `file` is missing or a file cannot be read.
 * @example
 * ```ts
 * const { config } = await loadConfig({ cwd: process.cwd(), env: process.env });
 * console.log(config.port, config.store.kind);
 * ```
 */
export async function loadConfig(options: LoadConfigOptions = {}): Promise<LoadedConfig> {
  const cwd = options.cwd ?? process.cwd();
  const env = options.env ?? process.env;
  const file = options.file !== undefined ? resolve(cwd, options.file) : await findConfigFile(cwd);
  if (options.file !== undefined && !(await exists(file as string))) {
    throw new IdrelayError('ERR_CONFIG_FILE', `Config file ${file} does not exist`, { details: { file } });
  }
  const raw = file === undefined ? {} : await readConfigFile(file);
  return { config: resolveConfig(raw, { cwd, env, file }), file };
}

/**
 * Validates a configuration object (from a file or code), applies `env` overrides and resolves defaults; what
 * {@link loadConfig} does after reading the file.
 *
 * @throws {IdrelayError} `ERR_CONFIG_INVALID` naming the bad key.
 * @example
 * ```ts
 * const config = resolveConfig({ port: 9000 }, { cwd: '/srv/idrelay', env: {} });
 * ```
 */
export function resolveConfig(
  input: unknown,
  options: { cwd: string; env?: Readonly<Record<string, string | undefined>>; file?: string | undefined },
): GatewayConfig {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new IdrelayError('ERR_CONFIG_INVALID', '(root): expected an object', {
      details: { issues: [{ key: '', message: 'expected an object' }], file: options.file },
    });
  }
  const { config: withEnv, sources } = applyEnv(input as Record<string, unknown>, options.env ?? {});
  const parsed = configSchema.safeParse(withEnv, {
    error: (issue) => (issue.input === undefined ? 'required' : undefined),
  });
  if (!parsed.success) throw invalidConfig(parsed.error, sources, options.file);
  const c = parsed.data;
  const dataDir = isAbsolute(c.dataDir) ? c.dataDir : resolve(options.cwd, c.dataDir);
  const path = (p: string) => (isAbsolute(p) ? p : resolve(options.cwd, p));
  const store: GatewayConfig['store'] =
    c.store === undefined || c.store.kind === 'sqlite'
      ? { kind: 'sqlite', path: c.store?.path ? path(c.store.path) : join(dataDir, 'relay.db') }
      : c.store;
  const transports = { ...c.transports };
  if (transports.apns) {
    transports.apns = {
      ...transports.apns,
      keyPath: path(transports.apns.keyPath),
      ...(transports.apns.ca ? { ca: path(transports.apns.ca) } : {}),
    };
  }
  if (transports.fcm) {
    transports.fcm = {
      ...transports.fcm,
      serviceAccountPath: path(transports.fcm.serviceAccountPath),
      ...(transports.fcm.ca ? { ca: path(transports.fcm.ca) } : {}),
    };
  }
  if (transports.webpush?.ca) transports.webpush = { ...transports.webpush, ca: path(transports.webpush.ca) };
  const host = c.host.includes(':') ? `[${c.host}]` : c.host;
  return {
    ...c,
    dataDir,
    store,
    transports,
    publicUrl: (c.publicUrl ?? `http://${host}:${c.port}`).replace(/\/+$/, ''),
    apiKeys: c.apiKeys.map((k) => ({
      id: k.id,
      sha256:
        k.sha256 ??
        createHash('sha256')
          .update(k.key as string)
          .digest('hex'),
      scopes: [...new Set(k.scopes)],
    })),
  };
}

function invalidConfig(error: z.ZodError, sources: Map<string, string>, file: string | undefined): IdrelayError {
  const issues = error.issues.map((issue) => {
    const key = issue.path.map(String).join('.');
    const from = [...sources].find(([k]) => key === k || key.startsWith(`${k}.`))?.[1];
    const message = issue.code === 'unrecognized_keys' ? `unknown key(s) ${issue.keys.join(', ')}` : issue.message;
    return { key: key || '(root)', message: from ? `${message} (from ${from})` : message };
  });
  const first = issues[0] as { key: string; message: string };
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
  const where = file ? ` in ${file}` : '';
  return new IdrelayError('ERR_CONFIG_INVALID', `${first.key}: ${first.message}${more}${where}`, {
    details: { issues, file },
  });
}

async function exists(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

async function findConfigFile(cwd: string): Promise<string | undefined> {
  for (const name of CONFIG_FILES) {
    const candidate = join(cwd, name);
    if (await exists(candidate)) return candidate;
  }
  return undefined;
}

async function readConfigFile(file: string): Promise<unknown> {
  try {
    if (file.endsWith('.json')) return JSON.parse(await readFile(file, 'utf8')) as unknown;
    const module = (await import(pathToFileURL(file).href)) as { default?: unknown; config?: unknown };
    return module.default ?? module.config ?? {};
  } catch (error) {
    throw new IdrelayError('ERR_CONFIG_FILE', `Config file ${file} could not be loaded: ${(error as Error).message}`, {
      details: { file },
      cause: error,
    });
  }
}

/**
 * Types a configuration file; returns its argument unchanged.
 *
 * @example
 * ```ts
 * // idrelay.config.ts
 * import { defineConfig } from '@idrelay/gateway';
 * export default defineConfig({ port: 8787, apiKeys: [{ id: 'iam', sha256: '…', scopes: ['ingest'] }] });
 * ```
 */
export function defineConfig(config: GatewayConfigInput): GatewayConfigInput {
  return config;
}
