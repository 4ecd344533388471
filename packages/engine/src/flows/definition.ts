import type { AudienceSpec, EventType, IdentityEvent, PushAction, Urgency } from '@idrelay/core';
import { IdrelayError } from '@idrelay/core';

/** Where a step goes after a decision or a code step: another step, or the end of the flow with an outcome. */
export type FlowTransition = { next: string } | { end: string };

/**
 * How many approvers must give the quorum decision: `any` (one), `all` (every approver notified in the step), or
 * `{ count: n }` (n of m; more than m is refused when the step starts).
 */
export type Quorum = 'any' | 'all' | { count: number };

/**
 * Options every step has, as identity-manager workflows have them.
 */
export interface StepOptions {
  /** Unique within the definition. */
  id: string;
  /**
   * How often the relay checks on the step when nothing else wakes it, ms (a code step that answered `pending`
   * or failed, a step whose start was cut short by a crash). Default 5000.
   */
  statusCheckMs?: number;
  /**
   * The flow is terminated (outcome `terminated`, reason `max-transitions`) when its transitions reach this number
   * while this step is current. Default {@link DEFAULT_MAX_TRANSITIONS}.
   */
  maxTransitions?: number;
  /** Record trace messages of this step in the flow's result (`relay.flows.get(id).trace`). Default false. */
  trace?: boolean;
}

/** What a notify step's audience or text may read: the flow's input and the values code steps set. */
export interface FlowScope {
  flowId: string;
  kind: string;
  key: string;
  input: Record<string, unknown>;
  vars: Record<string, unknown>;
}

/**
 * Notifies approvers and waits for their decisions. The push carries the step's `actions` and `data.flowId`, so the
 * relay mints a per-device action token for it at dispatch; the decision that comes back (a device-signed response
 * through `relay.respond()`, or `relay.flows.decide()`) moves the flow by `on`.
 */
export interface NotifyStep extends StepOptions {
  type: 'notify';
  /** Who decides: by user, role or attribute, group, manager-of, approvers-of a resource (its owners)… */
  approvers: AudienceSpec | ((scope: FlowScope) => AudienceSpec);
  /** Template key; rendered with `{ data: input, vars }`, so catalogue templates read the input as event data. */
  template: string;
  /** Preference category (critical steps ignore opt-outs and quiet hours). */
  category: string;
  urgency?: Urgency;
  critical?: boolean;
  /** The buttons; their ids are the decisions a token allows. */
  actions: readonly PushAction[];
  /**
   * Which decision counts toward the quorum (default the first action) and how many must give it, fixed or read
   * from the flow (`(scope) => ({ count: Number(scope.input.quorum ?? 1) })`). Default `any`.
   */
  quorum?: { decision?: string; of: Quorum | ((scope: FlowScope) => Quorum) };
  /** What the template reads as `data`; default the flow's input. */
  data?: (scope: FlowScope) => Record<string, unknown>;
  /** Decision → transition. A decision without an entry ends nothing; it is refused. */
  on: Readonly<Record<string, FlowTransition>>;
  /** Remind the approvers who have not decided after `afterMs`, then every `everyMs`, at most `max` times (default 1). */
  remind?: { afterMs: number; everyMs?: number; max?: number; template?: string };
  /** After `afterMs` without the quorum, the managers of the approvers who have not decided become approvers too. */
  escalate?: { afterMs: number; template?: string };
  /**
   * The step ends with `expire.outcome` (default `expired`) after `afterMs`, or at the instant in the input path
   * `atPath` (an RFC 3339 string or epoch ms), whichever is earlier.
   */
  expire?: { afterMs?: number; atPath?: string; outcome?: string };
  /**
   * Segregation of duties: input paths naming users who can never decide (default `['requester.id', 'author.id',
   * 'userId']` for steps whose quorum decision is an approval; see {@link NotifyStep.selfDecision}). They are not
   * notified, and a response from them is refused with `ERR_FLOW_SOD`.
   */
  segregation?: readonly string[];
  /**
   * The template of the update that replaces this step's pushes on the devices that did not answer, once the step
   * is decided, moves on or ends (same collapse id; no actions; rendered in the locale of the push it replaces,
   * reading what the step's push read). A function chooses by how the step ended: `reason` is set when no decision
   * ended it (`timeout`, `max-transitions`, a fail-closed code). Default `flow:decided` ("Request decided"), or
   * `flow:closed` ("Request closed") when a reason is set; a key missing from the relay's templates falls back to
   * that default text.
   */
  withdrawTemplate?: string | ((scope: FlowScope & { outcome?: string; reason?: string }) => string);
  /**
   * True for steps the subject answers about themself ("was this you?", acknowledge, complete a step): no
   * segregation of duties applies.
   */
  selfDecision?: boolean;
}

/** What a registered flow function returns. */
export interface FlowFunctionResult {
  /** Values merged into the flow's `vars` (read by later steps and events). */
  set?: Record<string, unknown>;
  /** Overrides the step's `then`. */
  next?: string;
  /** Ends the flow with this outcome. */
  end?: string;
  /** Not done yet: check again after the step's status-check interval. */
  pending?: boolean;
  /** A trace message (kept when the step has `trace: true`). */
  trace?: string;
}

/** A function a code step calls by name; register it in `createRelay({ flows: { functions } })`. */
export type FlowFunction = (scope: FlowScope) => FlowFunctionResult | Promise<FlowFunctionResult>;

/** Calls a registered function by name (never code from data: no eval). */
export interface CodeStep extends StepOptions {
  type: 'code';
  /** The registered function's name. */
  run: string;
  /** Where to go when the function does not say; default the next step in the list, or the end (`completed`). */
  then?: FlowTransition;
}

/** One step of a flow. */
export type FlowStep = NotifyStep | CodeStep;

/** What an event builder sees when the flow ends or a decision is taken. */
export interface FlowEventContext extends FlowScope {
  outcome: string;
  reason?: string;
  /** The decision that ended the flow, when one did. */
  decision?: {
    userId: string;
    deviceId?: string;
    decision: string;
    at: number;
    comment?: string;
    notificationId?: string;
  };
  now: number;
}

/** Builds an event the relay emits (to write-backs, subscribers and the audit) when a flow ends with an outcome. */
export type FlowEventBuilder = (
  context: FlowEventContext,
) => { type: EventType; data: Record<string, unknown> } | undefined;

/** Starts a flow from an ingested event. */
export interface FlowTrigger {
  /** The event type, with or without the `idrelay.` prefix. */
  type: string;
  /** The flow's business key (idempotent start per kind and key); e.g. `(e) => e.data.requestId`. */
  key(event: IdentityEvent): string;
  /** The flow's input; default the event's `data`. */
  input?(event: IdentityEvent): Record<string, unknown>;
  /**
   * The rules this flow replaces for its event: their notifications are not planned while this definition is
   * registered, so the people the flow asks get its push and not a second one from a rule. `'all'` (the default)
   * means every rule matching the event type: a flow that starts on an event owns that event's pushes. List rule
   * ids to replace only those (the shipped access approval replaces the two access-request approver rules of
   * `defaultRules()`, and keeps any other rule on `access.requested`); `[]` replaces none. A skipped rule shows in
   * the plan's and the preview's rule trail as not matched, with the flow named in the reason.
   */
  replacesRules?: 'all' | readonly string[];
}

/**
 * A versioned flow definition. A running flow keeps the version it started with; register a new version (keeping
 * the old one registered) and only flows started afterwards use it.
 */
export interface FlowDefinition {
  /** e.g. `access-approval`; 1-64 characters of `[a-z0-9._-]`. */
  kind: string;
  /** Integer ≥ 1. */
  version: number;
  description?: string;
  steps: readonly FlowStep[];
  /** Events by outcome (`approved`, `denied`, `expired`, `terminated`, …). */
  events?: Readonly<Record<string, FlowEventBuilder>>;
  /** Refuses a bad start input: return the problems (empty when fine). */
  validate?(input: Record<string, unknown>): readonly string[];
  /** Start this flow when an event of this type is ingested. */
  startOn?: FlowTrigger;
}

/** Transitions after which a flow is terminated when its step does not say. */
export const DEFAULT_MAX_TRANSITIONS = 100;
/** A step's status-check interval when it does not say, ms. */
export const DEFAULT_STATUS_CHECK_MS = 5000;

const KIND = /^[a-z0-9][a-z0-9._-]{0,63}$/;

function issuesOf(definition: FlowDefinition): string[] {
  const issues: string[] = [];
  if (typeof definition.kind !== 'string' || !KIND.test(definition.kind)) {
    issues.push('kind: expected 1-64 characters of a-z, 0-9, ".", "_", "-"');
  }
  if (!Number.isInteger(definition.version) || definition.version < 1) issues.push('version: expected an integer ≥ 1');
  if (!Array.isArray(definition.steps) || definition.steps.length === 0) {
    issues.push('steps: expected at least one step');
    return issues;
  }
  const ids = new Set<string>();
  for (const [i, step] of definition.steps.entries()) {
    const at = `steps[${i}]`;
    if (typeof step.id !== 'string' || step.id.length === 0 || step.id.length > 64)
      issues.push(`${at}.id: expected 1-64 characters`);
    else if (ids.has(step.id)) issues.push(`${at}.id: "${step.id}" is used twice`);
    ids.add(step.id);
    for (const name of ['statusCheckMs', 'maxTransitions'] as const) {
      const value = step[name];
      if (value !== undefined && (!Number.isInteger(value) || value < 1))
        issues.push(`${at}.${name}: expected an integer ≥ 1`);
    }
  }
  const replaces = definition.startOn?.replacesRules;
  if (replaces !== undefined && replaces !== 'all') {
    if (!Array.isArray(replaces) || replaces.some((id) => typeof id !== 'string' || id.length === 0))
      issues.push('startOn.replacesRules: expected "all" or a list of rule ids');
  }
  const target = (t: FlowTransition | undefined, at: string) => {
    if (t === undefined) return;
    if ('next' in t && !ids.has(t.next)) issues.push(`${at}: step "${t.next}" does not exist`);
    else if ('end' in t && (typeof t.end !== 'string' || t.end.length === 0)) issues.push(`${at}: expected an outcome`);
  };
  for (const [i, step] of definition.steps.entries()) {
    const at = `steps[${i}]`;
    if (step.type === 'code') {
      if (typeof step.run !== 'string' || step.run.length === 0) issues.push(`${at}.run: expected a function name`);
      target(step.then, `${at}.then`);
    } else if (step.type === 'notify') {
      const decisions = new Set((step.actions ?? []).map((a: PushAction) => a.id));
      if (decisions.size === 0) issues.push(`${at}.actions: expected at least one action`);
      for (const [decision, t] of Object.entries<FlowTransition>(step.on ?? {})) {
        if (!decisions.has(decision)) issues.push(`${at}.on.${decision}: not one of the actions`);
        target(t, `${at}.on.${decision}`);
      }
      const quorum = step.quorum?.of;
      if (quorum !== undefined && typeof quorum !== 'function' && quorum !== 'any' && quorum !== 'all') {
        if (!Number.isInteger(quorum.count) || quorum.count < 1)
          issues.push(`${at}.quorum.of.count: expected an integer ≥ 1`);
      }
      if (step.quorum?.decision !== undefined && !decisions.has(step.quorum.decision)) {
        issues.push(`${at}.quorum.decision: not one of the actions`);
      }
      for (const [name, value] of [
        ['remind.afterMs', step.remind?.afterMs],
        ['remind.everyMs', step.remind?.everyMs],
        ['escalate.afterMs', step.escalate?.afterMs],
        ['expire.afterMs', step.expire?.afterMs],
      ] as const) {
        if (value !== undefined && (!Number.isFinite(value) || value < 1))
          issues.push(`${at}.${name}: expected ms ≥ 1`);
      }
      if (typeof step.template !== 'string' || step.template.length === 0)
        issues.push(`${at}.template: expected a key`);
    } else {
      issues.push(`${at}.type: expected "notify" or "code"`);
    }
  }
  return issues;
}

/**
 * Checks a flow definition and returns it frozen, so a registered version can never change under running flows.
 *
 * @throws {IdrelayError} `ERR_FLOW_INVALID` with `details.issues`, one per problem.
 * @example
 * ```ts
 * const approval = defineFlow({
 *   kind: 'access-approval',
 *   version: 1,
 *   steps: [{
 *     type: 'notify', id: 'approve', approvers: { kind: 'approvers-of', resourceId: 'app-erp' },
 *     template: 'idrelay.access.requested', category: 'access-request',
 *     actions: [{ id: 'approve', title: 'Approve' }, { id: 'deny', title: 'Deny', destructive: true }],
 *     on: { approve: { end: 'approved' }, deny: { end: 'denied' } },
 *   }],
 * });
 * ```
 */
export function defineFlow(definition: FlowDefinition): FlowDefinition {
  const issues = issuesOf(definition);
  if (issues.length > 0) {
    throw new IdrelayError(
      'ERR_FLOW_INVALID',
      `Flow definition "${String(definition?.kind)}" is malformed: ${issues[0]}`,
      {
        details: { kind: definition?.kind, version: definition?.version, issues },
      },
    );
  }
  return Object.freeze({ ...definition, steps: Object.freeze(definition.steps.map((s) => Object.freeze({ ...s }))) });
}
