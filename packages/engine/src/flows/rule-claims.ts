import type { IdentityEvent } from '@idrelay/core';
import type { Rule } from '../rules/rule.js';
import type { FlowDefinition } from './definition.js';
import type { FlowRegistry } from './registry.js';

/** The input a trigger gives the flow it starts: its `input(event)`, or the event's `data`. */
export function triggerInput(definition: FlowDefinition, event: IdentityEvent): Record<string, unknown> {
  const trigger = definition.startOn;
  if (trigger?.input) return trigger.input(event);
  const data = event.data;
  return data !== null && typeof data === 'object' && !Array.isArray(data) ? (data as Record<string, unknown>) : {};
}

/**
 * Which rules a flow replaces for an event (`startOn.replacesRules`), as the planner's and the preview's
 * `skipRule`: the reason a rule must not notify, or undefined. Only a flow that will start counts: when the
 * event's input fails the definition's `validate`, no flow starts and the rules notify as they would without it,
 * so a malformed request still reaches someone. Definitions registered later (`relay.flows.register()`) count
 * from then on.
 *
 * @example
 * ```ts
 * const planner = createPlanner({ ...options, skipRule: ruleClaims(registry) });
 * ```
 */
export function ruleClaims(registry: FlowRegistry): (event: IdentityEvent, rule: Rule) => string | undefined {
  return (event, rule) => {
    for (const definition of registry.triggeredBy(event.type)) {
      const replaces = definition.startOn?.replacesRules ?? 'all';
      if (replaces !== 'all' && !replaces.includes(rule.id)) continue;
      if ((definition.validate?.(triggerInput(definition, event)) ?? []).length > 0) continue;
      return `replaced by flow "${definition.kind}" v${definition.version}, which starts on ${event.type} and sends its own push`;
    }
    return undefined;
  };
}
