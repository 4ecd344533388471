import { connect } from 'node:net';
import type { Directory, Logger, Store, WriteBack } from '@idrelay/core';
import {
  accessApprovalFlow,
  createRelay,
  createStoreDirectory,
  defaultRules,
  type Relay,
  requiredActionFlow,
} from '@idrelay/engine';
import { createPostgresStore } from '@idrelay/store-postgres';
import { createSqliteStore } from '@idrelay/store-sqlite';
import { createMemoryStore } from '@idrelay/testkit';
import { createPushChannelHandler } from '@idrelay/testkit/device';
import type { GatewayConfig } from '../config/load-config.js';
import { gatewayActionUrls } from '../http/action-urls.js';
import { createGateway, type Gateway } from '../http/create-gateway.js';
import { createMetrics, type Metrics } from '../observability/metrics.js';
import { createRequestLog, logDeliveries } from '../observability/request-log.js';
import { createGatewayTransports, type GatewayTransports } from '../sandbox/gateway-transports.js';
import type { SandboxTransports } from '../sandbox/sandbox-transports.js';
import type { Progress } from './io.js';

/** Directory groups the default rules alert: the security team and the IAM administrators. */
export const DEFAULT_GROUPS = { securityGroup: 'security', adminGroup: 'iam-admins' } as const;

/** Where the sandbox's push channel is served, for `idrelay device …` in another process. */
export const SANDBOX_PREFIX = '/sandbox';

/** A gateway with everything behind it, not yet listening; see {@link assembleGateway}. */
export interface AssembledGateway {
  store: Store;
  relay: Relay;
  gateway: Gateway;
  transports: GatewayTransports;
  /** Prometheus metrics, served at `GET /metrics`. */
  metrics: Metrics;
  /**
   * Stops accepting, waits for requests and deliveries in flight up to `config.shutdownTimeoutMs` (what is not sent
   * by then stays in the outbox for the next start), then closes transports and the store.
   */
  close(): Promise<{ timedOut: boolean }>;
}

/** Ready when every stand-in accepts a TCP connection on its port. */
async function probeStandIns(sandbox: SandboxTransports): Promise<void> {
  const ports = Object.values(sandbox.standIns).map((s: { port: number }) => s.port);
  await Promise.all(
    ports.map(
      (port) =>
        new Promise<void>((resolve, reject) => {
          const socket = connect({ port, host: '127.0.0.1' }, () => {
            socket.destroy();
            resolve();
          });
          socket.once('error', reject);
          socket.setTimeout(1000, () => socket.destroy(new Error(`stand-in on port ${port} did not answer`)));
        }),
    ),
  );
}

/** Opens the configured store: SQLite on a file under `dataDir` by default, PostgreSQL, or memory. */
export async function openStore(config: GatewayConfig): Promise<Store> {
  switch (config.store.kind) {
    case 'sqlite':
      return createSqliteStore({ path: config.store.path });
    case 'postgres':
      return createPostgresStore({ connectionString: config.store.url });
    case 'memory':
      return createMemoryStore();
  }
}

/**
 * Builds what `idrelay start` and `idrelay demo` serve: store → transports (real or sandbox) → relay with the
 * gateway's action URLs, the default rules and the shipped flows → gateway with a request log, a log line per
 * delivery outcome and Prometheus metrics, and the sandbox's push channel mounted at `/sandbox` when stand-ins run.
 * Each step is reported on `progress`; a failure undoes the steps before it.
 */
export async function assembleGateway(
  config: GatewayConfig,
  options: {
    logger: Logger;
    progress: Progress;
    directory?: (store: Store) => Directory;
    store?: Store;
    /** Consumers of decisions and acknowledgements (webhook write-backs); not closed here. */
    writeBacks?: readonly WriteBack[];
  },
): Promise<AssembledGateway> {
  const { logger, progress } = options;
  const undo: (() => Promise<unknown>)[] = [];
  try {
    progress.step(
      config.store.kind === 'sqlite'
        ? `Opening the SQLite store ${config.store.path}`
        : `Opening the ${config.store.kind} store`,
    );
    const store = options.store ?? (await openStore(config));
    undo.push(() => store.close());
    progress.step('Starting transports');
    const transports = await createGatewayTransports(config, { logger });
    undo.push(() => transports.close());
    const modes = Object.entries(transports.modes).map(([p, m]) => `${p} ${m}`);
    progress.done(`Transports: ${modes.join(', ')}`);
    const relay = createRelay({
      store,
      directory: options.directory?.(store) ?? createStoreDirectory(store),
      transports: transports.transports,
      rules: defaultRules(DEFAULT_GROUPS),
      flows: { definitions: [accessApprovalFlow(), requiredActionFlow()] },
      actions: gatewayActionUrls(config.publicUrl),
      logger,
      ...(options.writeBacks === undefined ? {} : { writeBacks: options.writeBacks }),
    });
    undo.push(() => relay.close());
    const metrics = createMetrics({ store });
    undo.push(async () => metrics.close());
    const stopDeliveryLog = logDeliveries(relay, logger);
    undo.push(async () => stopDeliveryLog());
    const sandbox = transports.sandbox;
    const gateway = createGateway({
      relay: metrics.observeRelay(relay),
      store,
      config,
      logger,
      requestLog: createRequestLog(logger),
      metrics,
      ...(sandbox === undefined ? {} : { readiness: { sandbox: () => probeStandIns(sandbox) } }),
    });
    if (sandbox !== undefined) {
      const handler = createPushChannelHandler(sandbox.channel, { prefix: SANDBOX_PREFIX });
      gateway.app.post(`${SANDBOX_PREFIX}/*`, (c) => handler(c.req.raw));
    }
    return {
      store,
      relay,
      gateway,
      transports,
      metrics,
      async close() {
        let timer: NodeJS.Timeout | undefined;
        const deadline = new Promise<'timeout'>((resolve) => {
          timer = setTimeout(() => resolve('timeout'), config.shutdownTimeoutMs);
        });
        const drained = (async () => {
          await gateway.close();
          await relay.close();
          return 'drained' as const;
        })();
        const outcome = await Promise.race([drained, deadline]);
        clearTimeout(timer);
        stopDeliveryLog();
        metrics.close();
        await transports.close();
        await store.close().catch(() => undefined);
        return { timedOut: outcome === 'timeout' };
      },
    };
  } catch (error) {
    for (const step of undo.reverse()) await step().catch(() => undefined);
    throw error;
  }
}
