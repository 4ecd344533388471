import { generateKeyPairSync } from 'node:crypto';
import type { Logger, Platform, Transport } from '@idrelay/core';
import {
  type ApnsStandIn,
  type FcmStandIn,
  type FirebaseRedirect,
  redirectFirebaseToStandIn,
  startApnsStandIn,
  startFcmStandIn,
  startWebPushService,
  type WebPushService,
} from '@idrelay/testkit';
import { type PushChannel, sandboxPushChannel } from '@idrelay/testkit/device';
import { createApnsTransport } from '@idrelay/transport-apns';
import { createFcmTransport } from '@idrelay/transport-fcm';
import { createWebPushTransport, generateVapidKeys } from '@idrelay/transport-webpush';

/** The APNs topic sandbox iOS devices are addressed under. */
export const SANDBOX_APNS_TOPIC = 'dev.idrelay.sandbox';

/** Options of {@link startSandboxTransports}. */
export interface SandboxOptions {
  /** Which platforms get a stand-in; default all three. */
  platforms?: readonly Platform[];
  logger?: Logger;
}

/** The stand-ins started in this process, by platform. */
export interface SandboxStandIns {
  apns?: ApnsStandIn;
  fcm?: FcmStandIn;
  webpush?: WebPushService;
}

/** Stand-ins and the real transports pointed at them; see {@link startSandboxTransports}. */
export interface SandboxTransports {
  /** One real transport per started platform, trusting only its stand-in's certificate. */
  readonly transports: readonly Transport[];
  readonly standIns: SandboxStandIns;
  /** Where simulated devices in this process read their pushes (`createSimulatedDevice({ channel })`). */
  readonly channel: PushChannel;
  /** Closes the transports, undoes the firebase-admin redirect, stops the stand-ins. */
  close(): Promise<void>;
}

/**
 * Starts the testkit stand-ins for APNs, FCM and Web Push on loopback and creates the real transports
 * (`@idrelay/transport-apns`, `-fcm`, `-webpush`) pointed at them with throwaway credentials the stand-ins accept:
 * an APNs `.p8`-style P-256 key, a Firebase service account, VAPID keys. Every byte goes over the real wire
 * protocols, TLS verified against the stand-ins' own certificates; nothing leaves the machine.
 *
 * FCM: firebase-admin has no host option, so its traffic is redirected process-wide (`redirectFirebaseToStandIn`)
 * until `close()`; run one FCM sandbox per process.
 *
 * @example
 * ```ts
 * const sandbox = await startSandboxTransports();
 * const relay = createRelay({ store, directory, rules, transports: sandbox.transports });
 * // … later
 * await relay.close();
 * await sandbox.close();
 * ```
 */
export async function startSandboxTransports(options: SandboxOptions = {}): Promise<SandboxTransports> {
  const platforms = new Set(options.platforms ?? ['apns', 'fcm', 'webpush']);
  const standIns: SandboxStandIns = {};
  const transports: Transport[] = [];
  let redirect: FirebaseRedirect | undefined;
  const logger = options.logger === undefined ? {} : { logger: options.logger };

  const close = async () => {
    await Promise.allSettled(transports.map((t) => t.close()));
    redirect?.restore();
    await Promise.allSettled(Object.values(standIns).map((s: { close(): Promise<void> }) => s.close()));
  };

  try {
    if (platforms.has('apns')) {
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const teamId = 'IDRELAYSBX';
      const keyId = 'SANDBOXKEY';
      standIns.apns = await startApnsStandIn({ publicKey, teamId, keyId });
      transports.push(
        createApnsTransport({
          signingKey: privateKey,
          teamId,
          keyId,
          defaultTopic: SANDBOX_APNS_TOPIC,
          origin: standIns.apns.origin,
          ca: standIns.apns.ca,
          name: 'apns-sandbox',
          ...logger,
        }),
      );
    }
    if (platforms.has('fcm')) {
      standIns.fcm = await startFcmStandIn({ projectId: 'idrelay-sandbox' });
      redirect = redirectFirebaseToStandIn(standIns.fcm);
      transports.push(
        createFcmTransport({
          projectId: standIns.fcm.projectId,
          serviceAccount: standIns.fcm.serviceAccount,
          httpAgent: redirect.httpAgent,
          name: 'fcm-sandbox',
          ...logger,
        }),
      );
    }
    if (platforms.has('webpush')) {
      standIns.webpush = await startWebPushService();
      transports.push(
        createWebPushTransport({
          vapid: { ...generateVapidKeys(), subject: 'mailto:sandbox@idrelay.invalid' },
          ca: standIns.webpush.ca,
          name: 'webpush-sandbox',
          ...logger,
        }),
      );
    }
  } catch (error) {
    await close();
    throw error;
  }
  return { transports, standIns, channel: sandboxPushChannel(standIns), close };
}
