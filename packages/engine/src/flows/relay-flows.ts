import {
  type AuditStore,
  type Clock,
  type FlowStore,
  type IdentityEvent,
  IdrelayError,
  isIdrelayError,
  type Logger,
} from '@idrelay/core';
import type { ResponseHandler, ResponseVerdict, VerifiedResponse } from '../actions/response.js';
import { createApplyDecision } from './apply-decision.js';
import type { FlowDefinition } from './definition.js';
import type { FlowRuntime } from './flow-runtime.js';
import { dataOf, type FlowView, flowIdOf, RUNNING, viewOf } from './flow-state.js';
import type { FlowRegistry } from './registry.js';
import { triggerInput } from './rule-claims.js';
import { initialData, move } from './transitions.js';

/** A decision made outside a device: the IAM console, the IAM system reporting a completed step. */
export interface ApiDecision {
  userId: string;
  decision: string;
  comment?: string;
}

/**
 * Approval flows on the relay: start them, read them, decide on them from a trusted server-side caller. Device
 * answers arrive through `relay.respond()`, which hands them to {@link RelayFlows.handler}.
 *
 * @example
 * ```ts
 * const flow = await relay.flows.start('access-approval', 'req-7', { requestId: 'req-7', requester: { id: 'alice' }, resource: { id: 'app-erp' } });
 * const now = await relay.flows.get(flow.id); // { state: 'running', step: 'approve', approvers: ['bob'], … }
 * ```
 */
export interface RelayFlows {
  /**
   * Starts a flow of the newest registered version of `kind`, once per (kind, key): a repeated start returns the
   * running (or ended) flow and changes nothing.
   *
   * @throws {IdrelayError} `ERR_FLOW_UNKNOWN` (no such kind), `ERR_FLOW_INPUT_INVALID` (the definition's
   * `validate` found problems; `details.issues`).
   */
  start(kind: string, key: string, input: Record<string, unknown>): Promise<FlowView>;
  /** The flow with its state, step, approvers, decisions and trace; undefined when there is none. */
  get(id: string): Promise<FlowView | undefined>;
  /** The flow of (kind, key). */
  find(kind: string, key: string): Promise<FlowView | undefined>;
  /**
   * Applies a decision from a trusted server-side caller (not a device): the same checks as a device's answer
   * (segregation of duties, approver, one decision each, quorum), audited with origin `api`.
   */
  decide(id: string, decision: ApiDecision): Promise<ResponseVerdict>;
  /** Registers another definition (a new version of a kind applies to flows started afterwards). */
  register(definition: FlowDefinition): void;
  /** Applies verified device responses to flows of every registered kind (see `ResponseHandler`). */
  readonly handler: ResponseHandler;
}

/** What {@link createRelayFlows} needs. */
export interface RelayFlowsOptions {
  flows: FlowStore;
  audit: Pick<AuditStore, 'append'>;
  registry: FlowRegistry;
  runtime: FlowRuntime;
  clock: Clock;
  logger: Logger;
}

/**
 * The `relay.flows` API over a runtime.
 *
 * @example
 * ```ts
 * const flows = createRelayFlows({ flows: store.flows, audit: store.audit, registry, runtime, clock, logger });
 * ```
 */
export function createRelayFlows(options: RelayFlowsOptions): RelayFlows & {
  /** Starts the flows an ingested event triggers (`startOn`); idempotent per (kind, key). */
  startFrom(event: IdentityEvent): Promise<FlowView[]>;
} {
  const { flows, registry, runtime, clock } = options;
  const apply = createApplyDecision({ runtime, audit: options.audit, settle: (flowId) => settleQuietly(flowId) });
  const now = () => clock.now();

  async function settleQuietly(flowId: string): Promise<void> {
    try {
      await runtime.settle(flowId);
    } catch (error) {
      // The durable flow.check timer scheduled with the change finishes this later.
      options.logger.warn({ err: error, flowId }, 'settling a flow failed; its check timer retries');
    }
  }

  async function start(kind: string, key: string, input: Record<string, unknown>): Promise<FlowView> {
    const definition = registry.latest(kind);
    if (!definition) {
      throw new IdrelayError('ERR_FLOW_UNKNOWN', `No flow definition of kind "${kind}" is registered`, {
        details: { kind, registered: registry.kinds() },
      });
    }
    if (typeof key !== 'string' || key.length === 0 || key.length > 512) {
      throw new IdrelayError('ERR_FLOW_INPUT_INVALID', 'A flow key must be a string of 1-512 characters', {
        details: { kind, issues: ['key: expected 1-512 characters'] },
      });
    }
    if (input === null || typeof input !== 'object' || Array.isArray(input)) {
      throw new IdrelayError('ERR_FLOW_INPUT_INVALID', 'A flow input must be an object', {
        details: { kind, key, issues: ['input: expected an object'] },
      });
    }
    const issues = definition.validate?.(input) ?? [];
    if (issues.length > 0) {
      throw new IdrelayError('ERR_FLOW_INPUT_INVALID', `The input of flow "${kind}" is malformed: ${issues[0]}`, {
        details: { kind, key, issues },
      });
    }
    const at = now();
    const id = flowIdOf(kind, key);
    const created = await flows.create({
      id,
      kind,
      key,
      definitionVersion: definition.version,
      state: RUNNING,
      data: initialData(definition, structuredClone(input), at),
      transitions: 0,
      createdAt: at,
      updatedAt: at,
    });
    if (created.created) {
      await options.audit.append([
        {
          at,
          action: 'flow.started',
          actor: 'system',
          target: id,
          details: { kind, key, version: definition.version },
        },
      ]);
    }
    await settleQuietly(created.flow.id);
    return viewOf((await flows.get(created.flow.id)) ?? created.flow);
  }

  const handler: ResponseHandler = {
    get kinds() {
      return registry.kinds();
    },
    /** What the proven device may show: the request (the flow's input), its step and state; never in a push. */
    async details(token) {
      const flow = token.flowId ? await flows.get(token.flowId) : undefined;
      if (!flow) return undefined;
      const data = dataOf(flow);
      return {
        flowId: flow.id,
        kind: flow.kind,
        key: flow.key,
        state: flow.state,
        step: data.step,
        request: data.input,
      };
    },
    /** Too many wrong codes: the flow ends `failed` (reason: the code), and its pushes are withdrawn. */
    async failClosed(token, code) {
      if (!token.flowId) return;
      const at = now();
      await runtime.transact(token.flowId, (current) => {
        if (current.state !== RUNNING) return undefined;
        const moved = move(dataOf(current), { end: 'failed' }, at, code);
        return {
          ...moved,
          audit: [
            {
              at,
              action: 'flow.failed-closed',
              actor: token.userId,
              target: current.id,
              details: { code, deviceId: token.deviceId },
            },
          ],
        };
      });
      await settleQuietly(token.flowId);
    },
    async apply(response: VerifiedResponse): Promise<ResponseVerdict> {
      const flowId = response.token.flowId;
      if (!flowId) return { status: 'rejected', code: 'ERR_FLOW_NOT_FOUND', detail: 'The token belongs to no flow' };
      return apply(
        flowId,
        {
          step: '',
          userId: response.userId,
          deviceId: response.deviceId,
          decision: response.decision,
          at: response.receivedAt,
          proofId: response.proofId,
          origin: 'device',
          ...(response.comment ? { comment: response.comment } : {}),
        },
        response.notificationId,
      );
    },
  };

  return {
    start,
    async get(id) {
      const flow = await flows.get(id);
      return flow && viewOf(flow);
    },
    async find(kind, key) {
      const flow = await flows.findByKey(kind, key);
      return flow && viewOf(flow);
    },
    decide(id, decision) {
      if (typeof decision?.userId !== 'string' || typeof decision.decision !== 'string') {
        throw new IdrelayError('ERR_FLOW_INPUT_INVALID', 'A decision needs a userId and a decision', {
          details: { issues: ['userId and decision: expected strings'] },
        });
      }
      return apply(id, {
        step: '',
        userId: decision.userId,
        decision: decision.decision,
        at: now(),
        origin: 'api',
        ...(decision.comment ? { comment: decision.comment.slice(0, 500) } : {}),
      });
    },
    register: (definition) => registry.register(definition),
    handler,
    async startFrom(event) {
      const started: FlowView[] = [];
      for (const definition of registry.triggeredBy(event.type)) {
        const trigger = definition.startOn!;
        try {
          started.push(await start(definition.kind, trigger.key(event), triggerInput(definition, event)));
        } catch (error) {
          if (!isIdrelayError(error, 'ERR_FLOW_INPUT_INVALID')) throw error;
          // The event is stored and its rules notified (ruleClaims() leaves them in for this input); the producer's
          // retry would fail the same way, so the refusal is recorded instead of failing the ingest.
          await options.audit.append([
            {
              at: now(),
              action: 'flow.not-started',
              actor: 'system',
              target: definition.kind,
              details: { kind: definition.kind, eventId: event.id, code: error.code, issues: error.details?.issues },
            },
          ]);
        }
      }
      return started;
    },
  };
}
