/**
 * The APNs stand-in in its own process for `bench/transports/apns.ts`, so that the sender's CPU is measured alone.
 * Started with `fork()`; reads the provider key from `APNS_STAND_IN` (JSON), answers `{ ready, port, origin, ca }`
 * on IPC, then serves `cpu` (its own process.cpuUsage, µs) and `close` requests.
 */
import { startApnsStandIn } from '@idrelay/testkit';

const config = JSON.parse(process.env.APNS_STAND_IN ?? '{}') as { publicKey: string; teamId: string; keyId: string };
const standIn = await startApnsStandIn({ ...config, record: false });
const send = (message: unknown) => process.send?.(message);

send({ type: 'ready', port: standIn.port, origin: standIn.origin, ca: standIn.ca });
process.on('message', async (message: { type: string }) => {
  if (message.type === 'cpu') {
    const cpu = process.cpuUsage();
    send({ type: 'cpu', us: cpu.user + cpu.system, stats: standIn.stats() });
  } else if (message.type === 'close') {
    await standIn.close();
    process.disconnect?.();
  }
});
