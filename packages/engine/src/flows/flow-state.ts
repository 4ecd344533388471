import { createHash } from 'node:crypto';
import type { FlowRecord } from '@idrelay/core';

/** One decision recorded on a flow: who, what, when, from which device. */
export interface FlowDecision {
  step: string;
  userId: string;
  decision: string;
  at: number;
  /** The device that signed it; absent for decisions made through `relay.flows.decide()`. */
  deviceId?: string;
  /** The proof's `jti`, linking the decision to its audit entry and the signed response. */
  proofId?: string;
  comment?: string;
  /** `device` (a signed response) or `api` (`relay.flows.decide()`). */
  origin: 'device' | 'api';
}

/** A trace message of a step that asked for them. */
export interface FlowTraceEntry {
  at: number;
  step: string;
  message: string;
}

/** What the engine keeps in `FlowRecord.data`. */
export interface FlowData {
  [key: string]: unknown;
  input: Record<string, unknown>;
  vars: Record<string, unknown>;
  /** The current step (the last one once the flow ended). */
  step: string;
  /** Grows each time a step is entered or the flow ends; timers carry it, so a timer of an earlier step is a no-op. */
  epoch: number;
  /** The step's approvers are resolved and its timers scheduled. */
  entered: boolean;
  /** The step's first push is in the outbox. */
  pushed: boolean;
  /** A code step that answered `pending` or failed runs again from this instant. */
  nextCheckAt?: number;
  /** When the current step was entered. */
  enteredAt: number;
  /** Users who may decide in the current step. */
  approvers: string[];
  /** Notification ids sent in the current step (first push, reminders, escalation). */
  notifications: string[];
  reminders: number;
  escalated: boolean;
  decisions: FlowDecision[];
  trace: FlowTraceEntry[];
  outcome?: string;
  reason?: string;
  endedAt?: number;
  /** Pushes of `step` to withdraw (it was decided, moved on or ended) that have not been withdrawn yet. */
  withdraw?: { notifications: string[]; step?: string; exceptDevice?: string };
}

/** A flow as `relay.flows.get()` shows it. */
export interface FlowView {
  id: string;
  kind: string;
  key: string;
  definitionVersion: number;
  /** `running`, or the outcome once ended (`approved`, `denied`, `expired`, `terminated`, …). */
  state: string;
  step: string;
  input: Record<string, unknown>;
  vars: Record<string, unknown>;
  approvers: string[];
  decisions: FlowDecision[];
  reminders: number;
  escalated: boolean;
  transitions: number;
  outcome?: string;
  reason?: string;
  /** Trace messages of the steps that asked for them (`trace: true`). */
  trace: FlowTraceEntry[];
  createdAt: number;
  updatedAt: number;
  endedAt?: number;
}

/** The state of a flow that has not ended. */
export const RUNNING = 'running';

/** The deterministic id of the flow of (kind, key), so a repeated start finds the same flow. */
export function flowIdOf(kind: string, key: string): string {
  return `f-${createHash('sha256').update(kind).update('\0').update(key).digest('base64url').slice(0, 22)}`;
}

/** The data of a stored flow. */
export const dataOf = (flow: FlowRecord): FlowData => flow.data as FlowData;

/** The view of a stored flow. */
export function viewOf(flow: FlowRecord): FlowView {
  const d = dataOf(flow);
  const view: FlowView = {
    id: flow.id,
    kind: flow.kind,
    key: flow.key,
    definitionVersion: flow.definitionVersion,
    state: flow.state,
    step: d.step,
    input: d.input,
    vars: d.vars,
    approvers: d.approvers,
    decisions: d.decisions,
    reminders: d.reminders,
    escalated: d.escalated,
    transitions: flow.transitions,
    trace: d.trace,
    createdAt: flow.createdAt,
    updatedAt: flow.updatedAt,
  };
  if (d.outcome !== undefined) view.outcome = d.outcome;
  if (d.reason !== undefined) view.reason = d.reason;
  if (d.endedAt !== undefined) view.endedAt = d.endedAt;
  return view;
}
