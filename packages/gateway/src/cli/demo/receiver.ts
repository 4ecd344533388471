import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { type ServerType, serve } from '@hono/node-server';
import type { WriteBack } from '@idrelay/core';
import { createWebhookReceiver, type ReceivedWebhook } from '../../outbound/webhook-receiver.js';
import { createWebhookWriteBack } from '../../outbound/webhook-write-back.js';

/** The IAM system's side: a local webhook receiver and the write-back that signs and sends to it. */
export interface Hooks {
  writeBack: WriteBack;
  /** Resolves with the first written-back event of `type` (within 10 s). */
  arrived(type: string): Promise<ReceivedWebhook>;
  close(): Promise<void>;
}

const WRITTEN_BACK = [
  'idrelay.access.approved',
  'idrelay.access.denied',
  'idrelay.notification.acknowledged',
  'idrelay.auth.verification.approved',
  'idrelay.auth.verification.denied',
  'idrelay.auth.risk.detected',
] as const;

/** Starts the receiver on a loopback port and makes the write-back that signs and sends to it. */
export async function startReceiver(): Promise<Hooks> {
  const secret = `whsec_${randomBytes(24).toString('base64')}`;
  const receiver = createWebhookReceiver({ secret });
  const server = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: receiver.handler, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  const writeBack = createWebhookWriteBack({
    name: 'demo-iam',
    url: `http://127.0.0.1:${port}/hooks/idrelay`,
    secret,
    types: WRITTEN_BACK,
    timeoutMs: 5_000,
  });
  return {
    writeBack,
    async arrived(type) {
      const deadline = Date.now() + 10_000;
      for (let count = 1; ; count++) {
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no ${type} written back within 10 s`)), deadline - Date.now());
        });
        const events = await Promise.race([receiver.waitFor(count), late]).finally(() => clearTimeout(timer));
        const hit = events.find((e) => e.event.type === type);
        if (hit !== undefined) return hit;
      }
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
