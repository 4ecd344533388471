import { ScimProblem } from '../http/scim-error.js';
import {
  type AttributeDefinition,
  type ResolvedPath,
  type ResourceSchema,
  resolvePath,
} from '../schemas/attribute-schema.js';
import type { CompareOperator, CompareValue, FilterNode } from './parse-filter.js';

/**
 * Evaluation of a parsed filter against a resource's JSON representation (RFC 7644 §3.4.2.2). Attribute paths are
 * resolved against the resource schema when the filter is compiled, so an unknown attribute or an operator the
 * attribute's type does not support is refused (400 `invalidFilter`) before any resource is read.
 *
 * - Strings compare without case unless the attribute is `caseExact` (`userName` is not; `id`, `externalId` are).
 * - `dateTime` attributes compare as instants: the value must be an RFC 3339 date-time string.
 * - Booleans accept `true`/`false` and, as Entra sends, the strings `"True"`/`"False"`; only `eq`/`ne`/`pr`.
 * - A multi-valued attribute matches when any value matches; a complex multi-valued attribute without a
 *   sub-attribute (`emails co "@x"`) compares its `value`. `ne` is the negation of `eq`.
 * - `attr eq null` matches an absent attribute, `attr ne null` a present one.
 */

/** A compiled filter: true when the resource matches. */
export type FilterPredicate = (resource: Readonly<Record<string, unknown>>) => boolean;

type Getter = (scope: Readonly<Record<string, unknown>>) => unknown[];

function fail(message: string): never {
  throw new ScimProblem(400, `Invalid filter: ${message}`, 'invalidFilter');
}

function member(object: unknown, name: string): unknown {
  if (typeof object !== 'object' || object === null) return undefined;
  const lower = name.toLowerCase();
  for (const [key, value] of Object.entries(object)) if (key.toLowerCase() === lower) return value;
  return undefined;
}

function flatten(value: unknown): unknown[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value.filter((entry) => entry !== null && entry !== undefined) : [value];
}

/** The attribute a comparison reads, and how to read its values from a resource (or a value-path element). */
function target(
  resource: ResourceSchema,
  path: string,
  within: AttributeDefinition | undefined,
): { definition: AttributeDefinition; get: Getter } {
  if (within !== undefined) {
    const sub = within.subAttributes?.find((entry) => entry.name.toLowerCase() === path.toLowerCase());
    if (sub === undefined) fail(`"${path}" is not a sub-attribute of "${within.name}"`);
    return { definition: sub, get: (element) => flatten(member(element, sub.name)) };
  }
  const resolved = resolvePath(resource, path);
  if (resolved === undefined) fail(`unknown attribute "${path.slice(0, 128)}"`);
  return { definition: resolved.sub ?? implicitValue(resolved), get: getter(resolved) };
}

/** A complex attribute named without a sub-attribute is compared by its `value` sub-attribute. */
function implicitValue(resolved: ResolvedPath): AttributeDefinition {
  const { attribute } = resolved;
  if (attribute.type !== 'complex') return attribute;
  return attribute.subAttributes?.find((entry) => entry.name === 'value') ?? attribute;
}

function getter(resolved: ResolvedPath): Getter {
  const { extension, attribute, sub } = resolved;
  const implicit = sub === undefined && attribute.type === 'complex' ? 'value' : undefined;
  const subName = sub?.name ?? implicit;
  return (scope) => {
    const holder = extension === undefined ? scope : member(scope, extension);
    const values = flatten(member(holder, attribute.name));
    if (subName === undefined) return values;
    return values.flatMap((value) => flatten(member(value, subName)));
  };
}

function compareValue(definition: AttributeDefinition, operator: CompareOperator, value: CompareValue): unknown {
  if (value === null) {
    if (operator !== 'eq' && operator !== 'ne') fail(`"${operator} null" is not a comparison`);
    return null;
  }
  switch (definition.type) {
    case 'boolean': {
      if (operator !== 'eq' && operator !== 'ne') fail(`"${definition.name}" is a boolean: only eq, ne and pr`);
      if (typeof value === 'boolean') return value;
      if (typeof value === 'string' && /^(true|false)$/i.test(value)) return value.toLowerCase() === 'true';
      return fail(`"${definition.name}" is a boolean: compare it with true or false`);
    }
    case 'dateTime': {
      if (operator === 'co' || operator === 'sw' || operator === 'ew') {
        fail(`"${definition.name}" is a date-time: ${operator} does not apply`);
      }
      const time = typeof value === 'string' ? Date.parse(value) : Number.NaN;
      if (!/^\d{4}-\d{2}-\d{2}T/.test(String(value)) || Number.isNaN(time)) {
        fail(`"${definition.name}" is a date-time: compare it with an RFC 3339 string`);
      }
      return time;
    }
    case 'integer':
    case 'decimal':
      if (typeof value !== 'number') fail(`"${definition.name}" is a number`);
      return value;
    case 'complex':
      return fail(`"${definition.name}" is complex: name a sub-attribute or use a value path`);
    default:
      if (typeof value !== 'string') fail(`"${definition.name}" is a string: compare it with a quoted string`);
      return definition.caseExact ? value : value.toLowerCase();
  }
}

function normalise(definition: AttributeDefinition, value: unknown): unknown {
  switch (definition.type) {
    case 'boolean':
      return typeof value === 'string' ? value.toLowerCase() === 'true' : value;
    case 'dateTime':
      return typeof value === 'string' ? Date.parse(value) : Number.NaN;
    case 'integer':
    case 'decimal':
      return value;
    default:
      if (typeof value !== 'string') return undefined;
      return definition.caseExact ? value : value.toLowerCase();
  }
}

function matches(operator: CompareOperator, actual: unknown, expected: unknown): boolean {
  switch (operator) {
    case 'eq':
      return actual === expected;
    case 'ne':
      return actual !== expected;
    case 'co':
      return typeof actual === 'string' && actual.includes(expected as string);
    case 'sw':
      return typeof actual === 'string' && actual.startsWith(expected as string);
    case 'ew':
      return typeof actual === 'string' && actual.endsWith(expected as string);
    case 'gt':
      return typeof actual === typeof expected && (actual as number) > (expected as number);
    case 'ge':
      return typeof actual === typeof expected && (actual as number) >= (expected as number);
    case 'lt':
      return typeof actual === typeof expected && (actual as number) < (expected as number);
    case 'le':
      return typeof actual === typeof expected && (actual as number) <= (expected as number);
  }
}

function compile(
  node: FilterNode,
  resource: ResourceSchema,
  within: AttributeDefinition | undefined,
): (scope: Readonly<Record<string, unknown>>) => boolean {
  switch (node.kind) {
    case 'and': {
      const left = compile(node.left, resource, within);
      const right = compile(node.right, resource, within);
      return (scope) => left(scope) && right(scope);
    }
    case 'or': {
      const left = compile(node.left, resource, within);
      const right = compile(node.right, resource, within);
      return (scope) => left(scope) || right(scope);
    }
    case 'not': {
      const inner = compile(node.filter, resource, within);
      return (scope) => !inner(scope);
    }
    case 'present': {
      const { get } = target(resource, node.path, within);
      return (scope) => get(scope).some((value) => value !== '' && !(Array.isArray(value) && value.length === 0));
    }
    case 'valuePath': {
      const resolved = resolvePath(resource, node.path);
      if (resolved === undefined) fail(`unknown attribute "${node.path.slice(0, 128)}"`);
      if (resolved.sub !== undefined || resolved.attribute.type !== 'complex') {
        fail(`"${node.path}" is not a complex attribute: value paths need one`);
      }
      const inner = compile(node.filter, resource, resolved.attribute);
      const elements = (scope: Readonly<Record<string, unknown>>): unknown[] => {
        const holder = resolved.extension === undefined ? scope : member(scope, resolved.extension);
        return flatten(member(holder, resolved.attribute.name));
      };
      return (scope) =>
        elements(scope).some(
          (element) =>
            typeof element === 'object' && element !== null && inner(element as Readonly<Record<string, unknown>>),
        );
    }
    case 'compare': {
      const { definition, get } = target(resource, node.path, within);
      const expected = compareValue(definition, node.operator, node.value);
      if (expected === null) {
        const present = (scope: Readonly<Record<string, unknown>>) => get(scope).length > 0;
        return node.operator === 'eq' ? (scope) => !present(scope) : present;
      }
      if (node.operator === 'ne') {
        return (scope) => !get(scope).some((value) => normalise(definition, value) === expected);
      }
      return (scope) => get(scope).some((value) => matches(node.operator, normalise(definition, value), expected));
    }
  }
}

/**
 * Compiles a parsed filter for a resource type.
 *
 * @throws {ScimProblem} 400 `invalidFilter` for an unknown attribute or a comparison its type does not support.
 */
export function compileFilter(node: FilterNode, resource: ResourceSchema): FilterPredicate {
  return compile(node, resource, undefined);
}
