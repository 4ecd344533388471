/**
 * The Web Push stand-in for bench/transports/webpush.ts, in its own process so that its work (TLS, VAPID
 * verification, decryption of every message) never shows up in the sender's `process.cpuUsage()`.
 *
 * Protocol over the fork IPC channel: it sends `{ type: 'ready', origin, ca, subscriptions }` once, then answers
 * `{ type: 'counts' }` with `{ type: 'counts', counts, cpuUs }` (CPU of this process since start).
 */
import { startWebPushService } from '@idrelay/testkit';

const subscriptions = Number(process.argv[2] ?? 64);
const service = await startWebPushService({ record: false });
const issued = Array.from({ length: subscriptions }, () => service.subscribe());

process.on('message', (msg: { type: string }) => {
  if (msg.type === 'counts') {
    const cpu = process.cpuUsage();
    process.send?.({ type: 'counts', counts: service.counts(), cpuUs: cpu.user + cpu.system });
  } else if (msg.type === 'stop') {
    void service.close().then(() => process.exit(0));
  }
});
process.send?.({ type: 'ready', origin: service.origin, ca: service.ca, subscriptions: issued });
