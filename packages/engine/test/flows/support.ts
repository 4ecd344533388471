/**
 * Helpers for flow scenarios: a verified device response (what `relay.respond()` hands to a flow's handler once
 * the token and signature checked out) and a write-back that records what reached it.
 */
import type { IdentityEvent, Store, WriteBack } from '@idrelay/core';
import type { VerifiedResponse } from '../../src/actions/response.js';
import { createScenario, type Scenario } from '../support/scenario.js';

/** A write-back that keeps what it was given. */
export function recordingWriteBack(name: string, types: WriteBack['types']) {
  const received: IdentityEvent[] = [];
  const writeBack: WriteBack = {
    name,
    types,
    async write(event) {
      received.push(event);
      return { status: 'written' };
    },
  };
  return { writeBack, received };
}

/** The pushes of a scenario that carried actions, as (device, notification, decisions, flowId). */
export function actionable(s: Scenario) {
  return [...s.transports.apns.sent, ...s.transports.fcm.sent, ...s.transports.webpush.sent]
    .filter((p) => p.message.actions && p.message.actions.length > 0)
    .map((p) => ({
      deviceId: p.target.deviceId,
      notificationId: p.message.id,
      actions: p.message.actions!.map((a) => a.id),
      flowId: p.message.data?.flowId,
      collapseId: p.message.collapseId,
    }));
}

/** Every push a scenario sent, in order. */
export const pushes = (s: Scenario) => [
  ...s.transports.apns.sent,
  ...s.transports.fcm.sent,
  ...s.transports.webpush.sent,
];

let proofs = 0;
/**
 * What `respond()` builds from a device's signed answer; the flow handler sees only this. `push` is the push the
 * device answers (its notification id, and the flow id its data carried).
 */
export function verified(
  push: { notificationId: string; flowId?: string | undefined },
  userId: string,
  deviceId: string,
  decision: string,
  at: number,
): VerifiedResponse {
  proofs++;
  return {
    token: {
      tokenHash: `hash-${proofs}`,
      notificationId: push.notificationId,
      userId,
      deviceId,
      actions: [decision],
      ...(push.flowId ? { flowId: push.flowId } : {}),
      expiresAt: at + 60_000,
      createdAt: at - 1_000,
    },
    notificationId: push.notificationId,
    userId,
    deviceId,
    decision,
    proofId: `jti-${proofs}`,
    signedAt: at,
    receivedAt: at,
    proof: 'eyJ…',
  };
}

/**
 * A scenario with `defaultRules()` left in: a flow that starts on an event replaces the rules that would push the
 * same people (`startOn.replacesRules`), so no scenario needs `rules: []`.
 */
export const flowScenario = (store: Store, overrides: Parameters<typeof createScenario>[1] = {}) =>
  createScenario(store, overrides);
