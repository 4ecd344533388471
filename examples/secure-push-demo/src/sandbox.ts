/**
 * The sandbox: local stand-ins for APNs, FCM and a Web Push service (from @idrelay/testkit) and our real transports
 * aimed at them. Nothing here is a fake of the transports: the same code that talks to api.push.apple.com talks
 * HTTP/2 + ES256 provider tokens to the APNs stand-in, firebase-admin runs its own OAuth and HTTP v1 code against
 * the FCM stand-in, and Web Push messages are RFC 8291-encrypted and VAPID-signed, then decrypted by the service.
 */
import { generateKeyPairSync } from 'node:crypto';
import type { Transport } from '@idrelay/core';
import {
  type ApnsStandIn,
  type FcmStandIn,
  redirectFirebaseToStandIn,
  startApnsStandIn,
  startFcmStandIn,
  startWebPushService,
  type WebPushService,
} from '@idrelay/testkit';
import { createApnsTransport } from '@idrelay/transport-apns';
import { createFcmTransport } from '@idrelay/transport-fcm';
import { createWebPushTransport, generateVapidKeys } from '@idrelay/transport-webpush';

/** The bundle id of the demo's approver app. */
export const APNS_TOPIC = 'com.example.approver';

/** Stand-ins and the transports aimed at them. */
export interface Sandbox {
  apns: ApnsStandIn;
  fcm: FcmStandIn;
  webpush: WebPushService;
  transports: Transport[];
  close(): Promise<void>;
}

/** Starts the three stand-ins and creates one transport per platform against them. */
export async function startSandbox(): Promise<Sandbox> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const teamId = 'DEMOTEAM01';
  const keyId = 'DEMOKEY001';
  const apns = await startApnsStandIn({ publicKey, teamId, keyId, topics: [APNS_TOPIC] });
  const webpush = await startWebPushService();
  const fcm = await startFcmStandIn();
  const redirect = redirectFirebaseToStandIn(fcm);
  const transports = [
    createApnsTransport({
      signingKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      teamId,
      keyId,
      defaultTopic: APNS_TOPIC,
      origin: apns.origin,
      ca: apns.ca,
    }),
    createFcmTransport({ projectId: fcm.projectId, serviceAccount: fcm.serviceAccount, httpAgent: redirect.httpAgent }),
    createWebPushTransport({
      vapid: { ...generateVapidKeys(), subject: 'mailto:security@example.com' },
      ca: webpush.ca,
    }),
  ];
  return {
    apns,
    fcm,
    webpush,
    transports,
    async close() {
      await Promise.all(transports.map((transport) => transport.close()));
      redirect.restore();
      await Promise.all([apns.close(), fcm.close(), webpush.close()]);
    },
  };
}
