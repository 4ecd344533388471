import { loadConfig } from '../config/load-config.js';
import type { CliIo } from './io.js';

/** A refusal from the gateway: its problem `code` and HTTP status. */
export class GatewayRequestError extends Error {
  override readonly name = 'GatewayRequestError';
  readonly code: string;
  /** HTTP status; 0 when the gateway could not be reached. */
  readonly status: number;
  constructor(code: string, status: number, message: string) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

/** The options every client command takes to reach a running gateway. */
export const CLIENT_OPTIONS = {
  url: { type: 'string' },
  'api-key': { type: 'string' },
  config: { type: 'string' },
} as const;

/** The `--help` lines of {@link CLIENT_OPTIONS}. */
export const CLIENT_HELP = `  --url <url>        the gateway (default IDRELAY_URL, else publicUrl of the configuration)
  --api-key <key>    an API key with the needed scope (default IDRELAY_API_KEY)
  --config <file>    configuration file to read publicUrl from`;

/** A small JSON client of a running gateway. */
export interface GatewayClient {
  readonly url: string;
  /** Sends a request; resolves with the JSON answer, throws {@link GatewayRequestError} on a refusal. */
  call(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<unknown>;
}

/**
 * Finds the gateway (`--url`, `IDRELAY_URL`, or the configuration's `publicUrl`) and the API key (`--api-key`,
 * `IDRELAY_API_KEY`).
 */
export async function connect(
  values: { url?: string | undefined; 'api-key'?: string | undefined; config?: string | undefined },
  io: CliIo,
): Promise<GatewayClient> {
  let url = values.url ?? io.env.IDRELAY_URL;
  if (url === undefined) {
    const { config } = await loadConfig({
      cwd: io.cwd,
      env: io.env,
      ...(values.config === undefined ? {} : { file: values.config }),
    });
    url = config.publicUrl;
  }
  const base = url.replace(/\/+$/, '');
  const apiKey = values['api-key'] ?? io.env.IDRELAY_API_KEY;
  return {
    url: base,
    async call(method, path, body, headers = {}) {
      let response: Response;
      try {
        response = await fetch(`${base}${path}`, {
          method,
          headers: {
            accept: 'application/json',
            ...(apiKey === undefined ? {} : { authorization: `Bearer ${apiKey}` }),
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
            ...headers,
          },
          ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
        });
      } catch (error) {
        const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
        throw new GatewayRequestError('ERR_GATEWAY_UNREACHABLE', 0, `cannot reach the gateway at ${base} (${cause})`);
      }
      const text = await response.text();
      let parsed: unknown;
      try {
        parsed = text.length === 0 ? undefined : JSON.parse(text);
      } catch {
        parsed = text;
      }
      if (!response.ok) {
        const problem = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as Record<string, unknown>;
        const code = typeof problem.code === 'string' ? problem.code : `HTTP_${response.status}`;
        const detail = typeof problem.detail === 'string' ? problem.detail : response.statusText;
        throw new GatewayRequestError(
          code,
          response.status,
          `${method} ${path}: ${code} (${response.status}) ${detail}`,
        );
      }
      return parsed;
    },
  };
}
