import { readFile } from 'node:fs/promises';
import { IdrelayError, type Logger, type Platform, type Transport } from '@idrelay/core';
import { type FirebaseRedirect, redirectFirebaseToStandIn } from '@idrelay/testkit';
import { createApnsTransport } from '@idrelay/transport-apns';
import { createFcmTransport } from '@idrelay/transport-fcm';
import { createWebPushTransport } from '@idrelay/transport-webpush';
import type { GatewayConfig } from '../config/load-config.js';
import '../config/config-errors.js';
import { type SandboxTransports, startSandboxTransports } from './sandbox-transports.js';

/** How each platform is served: real credentials, the in-process sandbox, or not at all. */
export type TransportMode = 'real' | 'sandbox' | 'off';

/** The gateway's transports; see {@link createGatewayTransports}. */
export interface GatewayTransports {
  readonly transports: readonly Transport[];
  readonly modes: Readonly<Record<Platform, TransportMode>>;
  /** The stand-ins, when any platform runs in the sandbox. */
  readonly sandbox: SandboxTransports | undefined;
  /** Closes every transport and the sandbox. */
  close(): Promise<void>;
}

const PLATFORMS: readonly Platform[] = ['apns', 'fcm', 'webpush'];

async function readText(path: string, key: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (cause) {
    throw new IdrelayError('ERR_CONFIG_INVALID', `${key}: cannot read ${path}`, {
      details: { issues: [{ key, message: `cannot read ${path}` }] },
      cause,
    });
  }
}

/**
 * The transports of `idrelay start`: a platform with credentials in `config.transports` gets its real transport
 * (APNs `.p8`, Firebase service account, VAPID keys; `origin`/`ca` point it elsewhere), every other platform the
 * sandbox stand-in of {@link startSandboxTransports} unless `transports.sandbox` is false, in which case it is off
 * (its devices are skipped at planning).
 *
 * @throws {IdrelayError} `ERR_CONFIG_INVALID` when a key file cannot be read or an FCM `origin` is not loopback.
 * @example
 * ```ts
 * const { transports, modes, close } = await createGatewayTransports(config);
 * console.log(modes); // { apns: 'real', fcm: 'sandbox', webpush: 'sandbox' }
 * ```
 */
export async function createGatewayTransports(
  config: GatewayConfig,
  options: { logger?: Logger } = {},
): Promise<GatewayTransports> {
  const t = config.transports;
  const logger = options.logger === undefined ? {} : { logger: options.logger };
  const transports: Transport[] = [];
  const modes = {} as Record<Platform, TransportMode>;
  let redirect: FirebaseRedirect | undefined;
  let sandbox: SandboxTransports | undefined;
  const close = async () => {
    await Promise.allSettled(transports.filter((x) => !sandbox?.transports.includes(x)).map((x) => x.close()));
    redirect?.restore();
    await sandbox?.close();
  };
  try {
    if (t.apns) {
      const ca = t.apns.ca === undefined ? {} : { ca: await readText(t.apns.ca, 'transports.apns.ca') };
      transports.push(
        createApnsTransport({
          signingKey: await readText(t.apns.keyPath, 'transports.apns.keyPath'),
          keyId: t.apns.keyId,
          teamId: t.apns.teamId,
          defaultTopic: t.apns.topic,
          environment: t.apns.environment,
          ...(t.apns.origin === undefined ? {} : { origin: t.apns.origin }),
          ...ca,
          ...logger,
        }),
      );
      modes.apns = 'real';
    }
    if (t.fcm) {
      const account = JSON.parse(await readText(t.fcm.serviceAccountPath, 'transports.fcm.serviceAccountPath')) as {
        project_id?: string;
      };
      const projectId = t.fcm.projectId ?? account.project_id;
      if (typeof projectId !== 'string') {
        throw new IdrelayError('ERR_CONFIG_INVALID', 'transports.fcm.projectId: the service account names no project', {
          details: { issues: [{ key: 'transports.fcm.projectId', message: 'required' }] },
        });
      }
      if (t.fcm.origin !== undefined) {
        // firebase-admin has no host option: only a loopback origin can be reached, through the testkit's redirect.
        const origin = new URL(t.fcm.origin);
        if (!['127.0.0.1', 'localhost', '[::1]'].includes(origin.hostname) || origin.protocol !== 'https:') {
          throw new IdrelayError(
            'ERR_CONFIG_INVALID',
            'transports.fcm.origin: only an https loopback origin is supported',
            {
              details: { issues: [{ key: 'transports.fcm.origin', message: 'expected https://127.0.0.1:<port>' }] },
            },
          );
        }
        const ca = t.fcm.ca === undefined ? '' : await readText(t.fcm.ca, 'transports.fcm.ca');
        redirect = redirectFirebaseToStandIn({ port: Number(origin.port || 443), ca });
      }
      transports.push(
        createFcmTransport({
          projectId,
          serviceAccount: t.fcm.serviceAccountPath,
          ...(redirect === undefined ? {} : { httpAgent: redirect.httpAgent }),
          ...logger,
        }),
      );
      modes.fcm = 'real';
    }
    if (t.webpush) {
      const ca = t.webpush.ca === undefined ? {} : { ca: await readText(t.webpush.ca, 'transports.webpush.ca') };
      transports.push(
        createWebPushTransport({
          vapid: { publicKey: t.webpush.publicKey, privateKey: t.webpush.privateKey, subject: t.webpush.subject },
          ...ca,
          ...logger,
        }),
      );
      modes.webpush = 'real';
    }
    const rest = PLATFORMS.filter((p) => modes[p] === undefined);
    for (const p of rest) modes[p] = t.sandbox ? 'sandbox' : 'off';
    if (t.sandbox && rest.length > 0) {
      sandbox = await startSandboxTransports({ platforms: rest, ...logger });
      transports.push(...sandbox.transports);
    }
  } catch (error) {
    await close();
    throw error;
  }
  return { transports, modes, sandbox, close };
}
