import { IdrelayError } from '@idrelay/core';
import { defineFlow, type FlowDefinition, type FlowFunction } from './definition.js';

/**
 * The flow definitions a relay knows, every version of each kind, and the functions code steps call by name.
 * New flows start on the newest version; a running flow looks up the version it started with.
 */
export interface FlowRegistry {
  /** Adds a definition (checked with `defineFlow`); the same kind and version twice is refused. */
  register(definition: FlowDefinition): void;
  /** The newest version of a kind. */
  latest(kind: string): FlowDefinition | undefined;
  /** One version of a kind. */
  get(kind: string, version: number): FlowDefinition | undefined;
  /** Registered kinds. */
  kinds(): string[];
  /** True when some newest definition starts on an event (`startOn`). */
  hasTriggers(): boolean;
  /** Newest definitions that start on an event type (full `idrelay.` name). */
  triggeredBy(type: string): FlowDefinition[];
  fn(name: string): FlowFunction | undefined;
}

/**
 * Creates a registry.
 *
 * @throws {IdrelayError} `ERR_FLOW_INVALID` for a malformed definition, a kind and version registered twice, or
 * a code step naming a function that is not registered.
 * @example
 * ```ts
 * const registry = createFlowRegistry([accessApprovalFlow()], { 'check-risk': checkRisk });
 * ```
 */
export function createFlowRegistry(
  definitions: readonly FlowDefinition[] = [],
  functions: Readonly<Record<string, FlowFunction>> = {},
): FlowRegistry {
  const byKind = new Map<string, Map<number, FlowDefinition>>();
  const fns = new Map(Object.entries(functions));
  const registry: FlowRegistry = {
    register(input) {
      const definition = defineFlow(input);
      for (const step of definition.steps) {
        if (step.type === 'code' && !fns.has(step.run)) {
          throw new IdrelayError(
            'ERR_FLOW_INVALID',
            `Flow "${definition.kind}" v${definition.version} calls "${step.run}", which is not a registered function`,
            { details: { kind: definition.kind, version: definition.version, step: step.id, run: step.run } },
          );
        }
      }
      const versions = byKind.get(definition.kind) ?? new Map<number, FlowDefinition>();
      if (versions.has(definition.version)) {
        throw new IdrelayError(
          'ERR_FLOW_INVALID',
          `Flow "${definition.kind}" v${definition.version} is registered twice; give a changed definition a new version`,
          { details: { kind: definition.kind, version: definition.version } },
        );
      }
      versions.set(definition.version, definition);
      byKind.set(definition.kind, versions);
    },
    latest(kind) {
      const versions = byKind.get(kind);
      if (!versions) return undefined;
      return versions.get(Math.max(...versions.keys()));
    },
    get: (kind, version) => byKind.get(kind)?.get(version),
    kinds: () => [...byKind.keys()],
    hasTriggers: () => [...byKind.keys()].some((kind) => registry.latest(kind)?.startOn !== undefined),
    triggeredBy(type) {
      const found: FlowDefinition[] = [];
      for (const kind of byKind.keys()) {
        const latest = registry.latest(kind);
        const on = latest?.startOn?.type;
        if (latest && on && (on === type || `idrelay.${on}` === type)) found.push(latest);
      }
      return found;
    },
    fn: (name) => fns.get(name),
  };
  for (const definition of definitions) registry.register(definition);
  return registry;
}
