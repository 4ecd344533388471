/**
 * The FCM stand-in in its own process for `bench/transports/fcm.ts`, so that the sender's CPU is measured alone.
 * Started with `fork()`; answers `{ type: 'ready', port, ca, projectId, serviceAccount }` on IPC, then serves
 * `stats` (its own process.cpuUsage in µs and the messages accepted since the last `reset`), `reset` and `close`.
 */
import { startFcmStandIn } from '@idrelay/testkit';

const standIn = await startFcmStandIn({ projectId: 'idrelay-bench', maxConcurrentStreams: 256 });
const send = (message: unknown) => process.send?.(message);

send({
  type: 'ready',
  port: standIn.port,
  ca: standIn.ca,
  projectId: standIn.projectId,
  serviceAccount: standIn.serviceAccount,
});
process.on('message', async (message: { type: string }) => {
  if (message.type === 'stats') {
    const cpu = process.cpuUsage();
    send({ type: 'stats', cpuUs: cpu.user + cpu.system, accepted: standIn.messages.length });
  } else if (message.type === 'reset') {
    standIn.reset();
    send({ type: 'reset' });
  } else if (message.type === 'close') {
    await standIn.close();
    process.disconnect?.();
  }
});
