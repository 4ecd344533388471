import type { Delivery, DeliveryOutcome, DeviceRecord, OutboxStatus, OutboxStore } from '@idrelay/core';
import { deviceTarget } from '@idrelay/core';
import { clone, type DeliveryRow, type MemoryState, messageKey } from './state.js';

const LIVE = new Set<OutboxStatus>(['pending', 'claimed']);
const readyAt = (row: DeliveryRow): number => (row.status === 'claimed' ? (row.leaseUntil ?? 0) : row.dueAt);

/** The device a delivery goes to: live, or removed but still kept for history. */
function deviceOf(state: MemoryState, deviceId: string): DeviceRecord | undefined {
  return state.devices.get(deviceId) ?? state.removedDevices.get(deviceId);
}

/** A row as the port's {@link Delivery}, with message and device address resolved. */
function toDelivery(state: MemoryState, row: DeliveryRow): Delivery {
  const notification = state.notifications.get(row.notificationId)!;
  const device = deviceOf(state, row.deviceId)!;
  const delivery: Delivery = {
    id: String(row.id),
    eventKey: notification.eventKey,
    notificationId: row.notificationId,
    ruleId: notification.ruleId,
    userId: device.userId,
    deviceId: row.deviceId,
    platform: row.platform,
    dueAt: row.dueAt,
    priority: row.priority,
    message: clone(state.messages.get(messageKey(row.notificationId, row.variant))!.message),
    variant: row.variant,
    target: deviceTarget(device, row.data),
    status: row.status,
    attempts: row.attempts,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
  if (row.expiresAt !== undefined) delivery.expiresAt = row.expiresAt;
  if (row.claimToken !== undefined) delivery.claimToken = row.claimToken;
  if (row.leaseUntil !== undefined && row.status === 'claimed') delivery.leaseUntil = row.leaseUntil;
  if (row.lastError !== undefined) delivery.lastError = clone(row.lastError);
  if (row.providerMessageId !== undefined) delivery.providerMessageId = row.providerMessageId;
  return clone(delivery);
}

function apply(row: DeliveryRow, outcome: DeliveryOutcome): void {
  row.updatedAt = outcome.at;
  delete row.leaseUntil;
  switch (outcome.status) {
    case 'delivered':
      row.status = 'delivered';
      if (outcome.providerMessageId !== undefined) row.providerMessageId = outcome.providerMessageId;
      return;
    case 'retry':
      row.status = 'pending';
      row.dueAt = outcome.dueAt;
      row.lastError = clone(outcome.error);
      return;
    default:
      row.status = outcome.status;
      if (outcome.error !== undefined) row.lastError = clone(outcome.error);
  }
}

/** The outbox in memory: the same model as the SQL stores, row for row. */
export function createMemoryOutbox(state: MemoryState): OutboxStore {
  return {
    async enqueue(deliveries) {
      let inserted = 0;
      const now = state.now();
      for (const d of deliveries) {
        const pair = `${d.notificationId}\0${d.deviceId}`;
        const device = state.devices.get(d.deviceId);
        if (state.pairs.has(pair) || device === undefined) continue;
        if (!state.notifications.has(d.notificationId)) {
          state.notifications.set(d.notificationId, { eventKey: d.eventKey, ruleId: d.ruleId, createdAt: now });
        }
        const variant = d.variant ?? '';
        const key = messageKey(d.notificationId, variant);
        if (!state.messages.has(key)) state.messages.set(key, { message: clone(d.message), createdAt: now });
        const id = state.nextId();
        const row: DeliveryRow = {
          id,
          notificationId: d.notificationId,
          variant,
          deviceId: d.deviceId,
          platform: device.platform,
          status: 'pending',
          priority: Math.trunc(d.priority ?? 0),
          dueAt: d.dueAt,
          attempts: 0,
          createdAt: now,
          updatedAt: now,
        };
        if (d.expiresAt !== undefined) row.expiresAt = d.expiresAt;
        if (d.data !== undefined) row.data = clone(d.data);
        state.deliveries.set(id, row);
        state.pairs.set(pair, id);
        inserted++;
      }
      return { inserted };
    },
    async claim({ limit, now, leaseMs, platforms, minPriority }) {
      if (limit <= 0 || platforms?.length === 0) return [];
      const due = [...state.deliveries.values()]
        .filter((row) => LIVE.has(row.status) && readyAt(row) <= now)
        .filter((row) => platforms === undefined || platforms.includes(row.platform))
        .filter((row) => minPriority === undefined || row.priority >= minPriority)
        .sort((a, b) => b.priority - a.priority || readyAt(a) - readyAt(b) || a.id - b.id)
        .slice(0, limit);
      const token = state.nextToken();
      const claimed: Delivery[] = [];
      for (const row of due) {
        row.attempts++;
        row.claimToken = token;
        row.updatedAt = now;
        if (!state.devices.has(row.deviceId)) {
          row.status = 'cancelled';
          row.lastError = { code: 'ERR_DEVICE_REMOVED', reason: 'the device was unregistered' };
          delete row.leaseUntil;
          continue;
        }
        row.status = 'claimed';
        row.leaseUntil = now + leaseMs;
        claimed.push(toDelivery(state, row));
      }
      return claimed;
    },
    async extendLease(ids, claimToken, leaseUntil) {
      const lost: string[] = [];
      for (const id of ids) {
        const row = state.deliveries.get(Number(id));
        if (row?.status === 'claimed' && row.claimToken === claimToken) row.leaseUntil = leaseUntil;
        else lost.push(id);
      }
      return { lost };
    },
    async settle(outcomes) {
      let settled = 0;
      const stale: string[] = [];
      for (const outcome of outcomes) {
        const row = state.deliveries.get(Number(outcome.id));
        if (row?.status !== 'claimed' || row.claimToken !== outcome.claimToken) {
          stale.push(outcome.id);
          continue;
        }
        apply(row, outcome);
        state.appendOutgoing(outcome.emit, outcome.at);
        settled++;
      }
      return { settled, stale };
    },
    async cancelByNotification(notificationId, at) {
      let cancelled = 0;
      for (const row of state.deliveries.values()) {
        if (row.notificationId !== notificationId || !LIVE.has(row.status)) continue;
        row.status = 'cancelled';
        row.updatedAt = at;
        delete row.leaseUntil;
        cancelled++;
      }
      return cancelled;
    },
    async get(id) {
      const row = state.deliveries.get(Number(id));
      return row === undefined ? undefined : toDelivery(state, row);
    },
    async listByEvent(eventKey) {
      return [...state.deliveries.values()]
        .filter((row) => state.notifications.get(row.notificationId)?.eventKey === eventKey)
        .map((row) => toDelivery(state, row));
    },
    async nextDueAt() {
      let next: number | undefined;
      for (const row of state.deliveries.values()) {
        if (!LIVE.has(row.status)) continue;
        const at = readyAt(row);
        if (next === undefined || at < next) next = at;
      }
      return next;
    },
    async counts() {
      const counts: Record<OutboxStatus, number> = {
        pending: 0,
        claimed: 0,
        delivered: 0,
        failed: 0,
        dead: 0,
        cancelled: 0,
        expired: 0,
      };
      for (const row of state.deliveries.values()) counts[row.status]++;
      return counts;
    },
  };
}
