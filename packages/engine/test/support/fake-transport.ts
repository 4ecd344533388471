import type { DeliveryResult, DeviceTarget, Platform, PushMessage, Transport } from '@idrelay/core';

/** What a scripted transport answers for one target; `throw` makes the whole send throw. */
export type Script = (target: DeviceTarget, message: PushMessage, call: number) => DeliveryResult | 'throw';

/** A transport that records every send and answers from a script (default: delivered). */
export interface RecordingTransport extends Transport {
  readonly sent: Array<{ message: PushMessage; target: DeviceTarget }>;
  script: Script | undefined;
  closed: boolean;
}

export function createRecordingTransport(platform: Platform, script?: Script): RecordingTransport {
  let calls = 0;
  const transport: RecordingTransport = {
    platform,
    name: `recording:${platform}`,
    sent: [],
    script,
    closed: false,
    async send(message, targets) {
      calls++;
      const results: DeliveryResult[] = [];
      for (const target of targets) {
        const answer = transport.script?.(target, message, calls) ?? { deviceId: target.deviceId, status: 'delivered' };
        if (answer === 'throw') throw new Error('socket hang up');
        if (answer.status === 'delivered') transport.sent.push({ message, target });
        results.push(answer);
      }
      return results;
    },
    async close() {
      transport.closed = true;
    },
  };
  return transport;
}
