import type {
  DeliveryResult,
  DeviceTarget,
  Platform,
  PushMessage,
  PushRequest,
  SendOptions,
  Transport,
} from '@idrelay/core';

/** What a scripted transport answers for one target; `throw` makes the whole send throw. */
export type Script = (target: DeviceTarget, message: PushMessage, call: number) => DeliveryResult | 'throw';

/** One push the transport accepted. */
export interface SentPush {
  message: PushMessage;
  target: DeviceTarget;
  expiresAt?: number;
  priority: 'high' | 'normal';
}

/** A transport that records every send and answers from a script (default: delivered). */
export interface RecordingTransport extends Transport {
  readonly sent: SentPush[];
  /** How many `sendEach` calls were made (one per claimed batch). */
  readonly calls: number;
  script: Script | undefined;
  /** When set, every send waits for it (a slow provider); the signal still aborts the wait. */
  gate: Promise<void> | undefined;
  closed: boolean;
}

export function createRecordingTransport(platform: Platform, script?: Script): RecordingTransport {
  let calls = 0;
  async function sendEach(requests: readonly PushRequest[], options: SendOptions = {}): Promise<DeliveryResult[]> {
    calls++;
    const call = calls;
    if (transport.gate) {
      const aborted = new Promise<'aborted'>((resolve) =>
        options.signal?.addEventListener('abort', () => resolve('aborted'), { once: true }),
      );
      if ((await Promise.race([transport.gate, aborted])) === 'aborted') {
        return requests.map((r) => ({
          deviceId: r.target.deviceId,
          status: 'retry-after',
          code: 'ERR_TRANSPORT_TIMEOUT',
        }));
      }
    }
    const results: DeliveryResult[] = [];
    for (const { message, target, expiresAt } of requests) {
      const answer = transport.script?.(target, message, call) ?? { deviceId: target.deviceId, status: 'delivered' };
      if (answer === 'throw') throw new Error('socket hang up');
      if (answer.status === 'delivered') {
        transport.sent.push({
          message,
          target,
          priority: options.priority ?? 'normal',
          ...(expiresAt === undefined ? {} : { expiresAt }),
        });
      }
      results.push(answer);
    }
    return results;
  }
  const transport: RecordingTransport = {
    platform,
    name: `recording:${platform}`,
    sent: [],
    get calls() {
      return calls;
    },
    script,
    gate: undefined,
    closed: false,
    sendEach,
    send: (message, targets, options) =>
      sendEach(
        targets.map((target) => ({ message, target })),
        options,
      ),
    async close() {
      transport.closed = true;
    },
  };
  return transport;
}
