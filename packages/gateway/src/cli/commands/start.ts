import { mkdir } from 'node:fs/promises';
import { loadConfig } from '../../config/load-config.js';
import { createLogger } from '../../observability/logger.js';
import { logWebhooks } from '../../observability/request-log.js';
import { createWebhookSubscriptions } from '../../outbound/subscriptions.js';
import { parse } from '../args.js';
import { assembleGateway, SANDBOX_PREFIX } from '../assemble.js';
import type { Command } from '../command.js';
import { EXIT_CODES, UsageError } from '../exit-codes.js';
import { createProgress } from '../io.js';

const HELP = `Usage: idrelay start [options]

Runs the gateway: reads idrelay.config.ts (or .mts/.js/.mjs/.json) and the IDRELAY_* / DATABASE_URL environment,
opens the store (SQLite under .idrelay/ by default; PostgreSQL with DATABASE_URL), starts the transports (real
ones where credentials are configured, in-process sandbox stand-ins for the rest), serves the HTTP API and
dispatches deliveries. SIGTERM or SIGINT: stop accepting, finish requests and deliveries in flight within
shutdownTimeoutMs, leave the rest in the outbox for the next start, exit 0; a second signal ends the process at once.

While any platform runs in the sandbox, its push channel is served at /sandbox (for \`idrelay device …\`): whoever
reaches it reads the sandbox pushes, so keep such a gateway on a loopback address (the default host 127.0.0.1).
Sandbox credentials are made afresh at every start and the stand-ins listen on new ports: APNs and FCM devices
keep working across restarts, Web Push subscriptions (endpoints on the old port) must be made again.

Options:
  --config <file>   configuration file instead of looking for idrelay.config.*
  --port <port>     listen on this port (overrides the configuration)
  --host <host>     listen on this address (overrides the configuration)

Outbound: each of webhooks.subscriptions ({ url, secret, types }) receives its event types as CloudEvents signed
with Standard Webhooks, from the durable outgoing log (retried with backoff, dead-lettered after the last attempt).

Logs: JSON lines (pino, credentials and bodies redacted) on stdout at logLevel, one per request, per delivery
outcome and per webhook attempt; progress on stderr. Metrics: GET /metrics (Prometheus).
Exit codes: 0 stopped by a signal after a clean shutdown, 1 invalid configuration or a failure to start, 2 usage error.`;

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

/** `idrelay start`. */
export const startCommand: Command = {
  name: 'start',
  summary: 'run the gateway (HTTP API, dispatch, sandbox transports)',
  help: HELP,
  async run(args, io) {
    const { values } = parse('start', args, {
      config: { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
    });
    if (values.help) {
      io.stdout.write(`${HELP}\n`);
      return EXIT_CODES.ok;
    }
    const env = { ...io.env };
    if (values.port !== undefined) {
      if (!/^\d{1,5}$/.test(values.port)) throw new UsageError('--port must be a number between 1 and 65535', 'start');
      env.IDRELAY_PORT = values.port;
    }
    if (values.host !== undefined) env.IDRELAY_HOST = values.host;
    const progress = createProgress(io.stderr);
    progress.step('Reading the configuration');
    const { config, file } = await loadConfig({
      cwd: io.cwd,
      env,
      ...(values.config === undefined ? {} : { file: values.config }),
    });
    progress.done(
      file === undefined ? 'Configuration: defaults (no idrelay.config.* found)' : `Configuration: ${file}`,
    );
    await mkdir(config.dataDir, { recursive: true });
    const logger = createLogger({ level: config.logLevel, base: { service: 'idrelay' } });
    // Outbound subscriptions ride the relay's durable outgoing log as write-backs, one log line per attempt.
    const webhooks = createWebhookSubscriptions({ subscriptions: config.webhooks.subscriptions, logger });
    const unlog = logWebhooks(webhooks.deliveryLog, logger);
    const assembled = await assembleGateway(config, { logger, progress, writeBacks: webhooks.writeBacks });
    let url: string;
    try {
      progress.step(`Listening on ${config.host}:${config.port}`);
      url = (await assembled.gateway.listen()).url;
      const { replanned } = await assembled.relay.start();
      progress.done(
        `Listening on ${url}${replanned > 0 ? ` (re-planned ${replanned} event(s) left by the last run)` : ''}`,
      );
    } catch (error) {
      progress.fail();
      await assembled.close();
      unlog();
      throw error;
    }
    progress.note(`API reference: ${config.publicUrl}/docs   OpenAPI: ${config.publicUrl}/openapi.json`);
    if (assembled.transports.sandbox !== undefined) {
      progress.note(`Sandbox push channel for \`idrelay device …\`: ${config.publicUrl}${SANDBOX_PREFIX}`);
      if (!LOOPBACK.has(config.host)) {
        progress.note(
          `warning: listening on ${config.host} with sandbox transports: anyone reaching it reads sandbox pushes`,
        );
      }
    }
    const signal = await io.stopSignal;
    progress.step(`${signal}: stopping (finishing work in flight, at most ${config.shutdownTimeoutMs} ms)`);
    const { timedOut } = await assembled.close();
    unlog();
    progress.done(
      timedOut ? 'Stopped; unfinished deliveries stay in the outbox for the next start' : 'Stopped cleanly',
    );
    return EXIT_CODES.ok;
  },
};
