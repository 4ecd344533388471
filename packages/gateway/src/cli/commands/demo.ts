import { randomBytes } from 'node:crypto';
import { silentLogger, verifyAuditChain } from '@idrelay/core';
import { createStoreDirectory } from '@idrelay/engine';
import { freePort, seedStoreDirectory } from '@idrelay/testkit';
import type { PushChannel } from '@idrelay/testkit/device';
import { resolveConfig } from '../../config/load-config.js';
import { parse } from '../args.js';
import { assembleGateway, DEFAULT_GROUPS } from '../assemble.js';
import { connect } from '../client.js';
import type { Command } from '../command.js';
import { startReceiver } from '../demo/receiver.js';
import { enrolAll, PEOPLE, SCENARIOS } from '../demo/scenarios.js';
import { EXIT_CODES, UsageError } from '../exit-codes.js';
import { createProgress } from '../io.js';

const HELP = `Usage: idrelay demo [options]

Starts a gateway on embedded defaults (in-memory store, sandbox stand-ins for APNs, FCM and Web Push) with a seeded
directory and simulated devices, and plays scenarios over HTTP, printing who got what and what they answered:

  1. login verification: alice's iPhone gets the push, reads the context, types the number, approves
  2. risky login: bob's Pixel denies and reports; more prompts for bob are refused (push-bombing defence);
     the security team's browser gets the alert
  3. account locked: alice's iPhone is told
  4. required action: carol's browser acknowledges a policy
  5. access request: alice and carol are asked; alice approves, carol's push is withdrawn and its token is dead
  6. privileged role assigned: the security team is alerted (time-sensitive on dave's iPhone)
  7. quiet hours: bob's announcement waits for the end of his quiet hours; a security alert reaches him at once

Then it checks the audit trail: every step above is in it, and its hash chain verifies.

Decisions and acknowledgements are written back, signed with Standard Webhooks, to a local webhook receiver.

Options:
  --port <port>   listen on this port (default: a free one)
  --keep          keep the gateway serving after the scenarios, until SIGINT/SIGTERM

Exit codes: 0 every scenario's outcome was observed, 1 one was not (it is named), 2 usage error.`;

/** `idrelay demo`. */
export const demoCommand: Command = {
  name: 'demo',
  summary: 'play the scenarios on a sandbox gateway with simulated devices',
  help: HELP,
  async run(args, io) {
    const { values } = parse('demo', args, { port: { type: 'string' }, keep: { type: 'boolean' } });
    if (values.help) {
      io.stdout.write(`${HELP}\n`);
      return EXIT_CODES.ok;
    }
    if (values.port !== undefined && !/^\d{1,5}$/.test(values.port)) {
      throw new UsageError('--port must be a number between 1 and 65535', 'demo');
    }
    const port = values.port === undefined ? await freePort() : Number(values.port);
    const apiKey = `idr_${randomBytes(32).toString('base64url')}`;
    const config = resolveConfig(
      {
        port,
        store: { kind: 'memory' },
        logLevel: 'silent',
        apiKeys: [{ id: 'demo', key: apiKey, scopes: ['ingest', 'preview', 'admin'] }],
        transports: { sandbox: true },
      },
      { cwd: io.cwd, env: {} },
    );
    const progress = createProgress(io.stderr);
    const hooks = await startReceiver();
    const assembled = await assembleGateway(config, {
      logger: silentLogger,
      progress,
      writeBacks: [hooks.writeBack],
    }).catch(async (error: unknown) => {
      await hooks.close();
      throw error;
    });
    const channel = assembled.transports.sandbox?.channel as PushChannel;
    let failed: string | undefined;
    try {
      progress.step('Seeding the directory');
      await seedStoreDirectory(createStoreDirectory(assembled.store), {
        users: PEOPLE,
        groups: [
          { id: DEFAULT_GROUPS.securityGroup, members: ['sam', 'dave'] },
          { id: DEFAULT_GROUPS.adminGroup, members: ['carol'] },
        ],
      });
      progress.step('Listening');
      const { url } = await assembled.gateway.listen();
      await assembled.relay.start();
      progress.done(`Gateway on ${url} (API reference ${url}/docs)`);
      const client = await connect({ url, 'api-key': apiKey }, io);
      const say = (line: string) => io.stdout.write(`${line}\n`);
      const devices = await enrolAll(client, channel, url, progress, say);
      for (const [name, play] of SCENARIOS) {
        progress.step(name);
        try {
          await play({ client, devices, say, hooks });
          progress.done(name);
        } catch (error) {
          progress.fail(`${name}: ${(error as Error).message}`);
          failed ??= name;
        }
      }
      const trail = await assembled.store.audit.list({ limit: 100_000 });
      const broken = verifyAuditChain(trail);
      const actions = new Map<string, number>();
      for (const entry of trail) actions.set(entry.action, (actions.get(entry.action) ?? 0) + 1);
      const shown = ['response.accepted', 'flow.decided', 'verification.started', 'event.ingested'];
      say(
        `\naudit: ${trail.length} entries (${shown.map((a) => `${actions.get(a) ?? 0} ${a}`).join(', ')}), hash chain ${broken === undefined ? 'verified' : 'BROKEN'}`,
      );
      if (broken !== undefined || (actions.get('response.accepted') ?? 0) === 0) failed ??= 'the audit trail';
      if (failed === undefined) say('\nEvery scenario played as expected.');
      if (values.keep) {
        progress.note(`Serving on ${url} until SIGINT/SIGTERM (API key for this run: ${apiKey})`);
        await io.stopSignal;
      }
    } finally {
      progress.step('Stopping');
      await assembled.close();
      await hooks.close();
      progress.done('Stopped');
    }
    if (failed !== undefined) {
      io.stderr.write(`idrelay: scenario not observed: ${failed}\n`);
      return EXIT_CODES.failure;
    }
    return EXIT_CODES.ok;
  },
};
