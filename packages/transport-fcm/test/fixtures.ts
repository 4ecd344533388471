import type { DeviceTarget, PushMessage } from '@idrelay/core';

/** An approval push as the engine renders it. */
export const approval = (over: Partial<PushMessage> = {}): PushMessage => ({
  id: 'n-approval-1',
  title: 'Approve access to payroll?',
  body: 'Alice requests finance-admins.',
  urgency: 'high',
  collapseId: 'req-42',
  ttlSeconds: 300,
  data: { requestId: 'req-42' },
  ...over,
});

/** An FCM device whose registration token is `token`. */
export const device = (token: string, data?: Record<string, string>): DeviceTarget =>
  data
    ? { deviceId: `dev-${token}`, platform: 'fcm', token, data }
    : { deviceId: `dev-${token}`, platform: 'fcm', token };

/** A sleep that returns at once and remembers what it was asked to wait: a fake clock for backoff. */
export function fakeSleep() {
  const delays: number[] = [];
  return {
    delays,
    sleep: async (ms: number) => {
      delays.push(ms);
    },
  };
}
