import { compileFilter, type FilterPredicate } from '../filter/evaluate-filter.js';
import { type FilterNode, parseFilter } from '../filter/parse-filter.js';
import { ScimProblem } from '../http/scim-error.js';
import { type AttributeDefinition, type ResourceSchema, resolvePath } from '../schemas/attribute-schema.js';

/**
 * The query parameters of a SCIM GET (RFC 7644 §3.4.2): `filter`, `sortBy`/`sortOrder`, `startIndex`/`count` and
 * `attributes`/`excludedAttributes`, checked against the resource schema before anything is read.
 */

/** A resource's JSON representation. */
export type Json = Record<string, unknown>;

/** The parsed query of a list request. */
export interface ListQuery {
  startIndex: number;
  count: number;
  filter?: { node: FilterNode; matches: FilterPredicate };
  sort?: { key: (resource: Json) => string | number | boolean | undefined; descending: boolean };
  project: (resource: Json) => Json;
}

const MAX_LIST_PARAMETER = 2048;

/** An integer query parameter: RFC 7644 §3.4.2.4 treats startIndex < 1 as 1 and a negative count as 0. */
function integer(value: string | null, name: string, fallback: number): number {
  if (value === null || value === '') return fallback;
  if (!/^-?\d{1,12}$/.test(value.trim())) throw new ScimProblem(400, `${name} must be an integer`, 'invalidValue');
  return Number(value.trim());
}

function member(object: unknown, name: string): unknown {
  if (typeof object !== 'object' || object === null) return undefined;
  const lower = name.toLowerCase();
  for (const [key, value] of Object.entries(object)) if (key.toLowerCase() === lower) return value;
  return undefined;
}

function sortKey(resource: ResourceSchema, path: string): ListQuery['sort'] {
  const resolved = resolvePath(resource, path);
  if (resolved === undefined) throw new ScimProblem(400, `sortBy: unknown attribute "${path}"`, 'invalidPath');
  const { extension, attribute, sub } = resolved;
  const leaf: AttributeDefinition =
    sub ??
    (attribute.type === 'complex' ? attribute.subAttributes?.find((s) => s.name === 'value') : attribute) ??
    attribute;
  if (leaf.type === 'complex') throw new ScimProblem(400, `sortBy: "${path}" is complex`, 'invalidPath');
  const subName = sub?.name ?? (attribute.type === 'complex' ? 'value' : undefined);
  return {
    descending: false,
    key: (json) => {
      const holder = extension === undefined ? json : member(json, extension);
      let value = member(holder, attribute.name);
      // A multi-valued attribute sorts by its primary value, else its first (RFC 7644 §3.4.2.3).
      if (Array.isArray(value)) value = value.find((entry) => member(entry, 'primary') === true) ?? value[0];
      if (subName !== undefined) value = member(value, subName);
      if (value === undefined || value === null) return undefined;
      if (leaf.type === 'dateTime' && typeof value === 'string') return Date.parse(value);
      if (typeof value === 'string') return leaf.caseExact ? value : value.toLowerCase();
      return typeof value === 'number' || typeof value === 'boolean' ? value : undefined;
    },
  };
}

/** Compares sort keys; absent values sort last in ascending order and first in descending order. */
export function compareKeys(
  a: string | number | boolean | undefined,
  b: string | number | boolean | undefined,
  descending: boolean,
): number {
  if (a === b) return 0;
  if (a === undefined) return descending ? -1 : 1;
  if (b === undefined) return descending ? 1 : -1;
  const order = a < b ? -1 : 1;
  return descending ? -order : order;
}

type Selection = Map<string, Set<string> | 'all'>;

/** `attributes` / `excludedAttributes`: attribute names, keyed by holder (`''` or an extension URN). */
function selection(resource: ResourceSchema, list: string, name: string): Map<string, Selection> {
  if (list.length > MAX_LIST_PARAMETER) throw new ScimProblem(400, `${name} is too long`, 'invalidValue');
  const byHolder = new Map<string, Selection>();
  for (const raw of list.split(',')) {
    const path = raw.trim();
    if (path === '') continue;
    const resolved = resolvePath(resource, path);
    if (resolved === undefined) {
      // An extension URN alone selects the whole extension.
      if (resource.extension !== undefined && path.toLowerCase() === resource.extension.schema.toLowerCase()) {
        const holder = byHolder.get(resource.extension.schema) ?? new Map();
        holder.set('*', 'all');
        byHolder.set(resource.extension.schema, holder);
        continue;
      }
      throw new ScimProblem(400, `${name}: unknown attribute "${path.slice(0, 128)}"`, 'invalidPath');
    }
    const key = resolved.extension ?? '';
    const holder = byHolder.get(key) ?? new Map<string, Set<string> | 'all'>();
    const attribute = resolved.attribute.name;
    if (resolved.sub === undefined) holder.set(attribute, 'all');
    else {
      const current = holder.get(attribute);
      if (current !== 'all') holder.set(attribute, new Set([...(current ?? []), resolved.sub.name]));
    }
    byHolder.set(key, holder);
  }
  return byHolder;
}

const ALWAYS = new Set(['schemas', 'id']);

function pick(object: Json, chosen: Selection): Json {
  const out: Json = {};
  if (chosen.get('*') === 'all') return { ...object };
  for (const [key, value] of Object.entries(object)) {
    const wanted = chosen.get(key);
    if (wanted === undefined) continue;
    if (wanted === 'all') out[key] = value;
    else if (Array.isArray(value)) out[key] = value.map((entry) => pick(entry as Json, subs(wanted)));
    else if (typeof value === 'object' && value !== null) out[key] = pick(value as Json, subs(wanted));
  }
  return out;
}

function omit(object: Json, dropped: Selection): Json {
  const out: Json = {};
  if (dropped.get('*') === 'all') return out;
  for (const [key, value] of Object.entries(object)) {
    const unwanted = dropped.get(key);
    if (unwanted === 'all') continue;
    if (unwanted === undefined) out[key] = value;
    else if (Array.isArray(value)) out[key] = value.map((entry) => omit(entry as Json, subs(unwanted)));
    else if (typeof value === 'object' && value !== null) out[key] = omit(value as Json, subs(unwanted));
    else out[key] = value;
  }
  return out;
}

function subs(names: Set<string>): Selection {
  return new Map([...names].map((name) => [name, 'all' as const]));
}

/** The projection of RFC 7644 §3.4.2.5; `schemas` and `id` (returned "always") are always kept. */
function projection(resource: ResourceSchema, params: URLSearchParams): (json: Json) => Json {
  const attributes = params.get('attributes');
  const excluded = params.get('excludedAttributes');
  if (attributes !== null && attributes.trim() !== '') {
    const chosen = selection(resource, attributes, 'attributes');
    return (json) => {
      const core = chosen.get('') ?? new Map();
      const out = pick(json, core);
      for (const key of ALWAYS) if (json[key] !== undefined) out[key] = json[key];
      for (const [holder, selected] of chosen) {
        if (holder === '' || json[holder] === undefined) continue;
        out[holder] = pick(json[holder] as Json, selected);
      }
      return out;
    };
  }
  if (excluded !== null && excluded.trim() !== '') {
    const dropped = selection(resource, excluded, 'excludedAttributes');
    return (json) => {
      const core = new Map(dropped.get('') ?? []);
      for (const key of ALWAYS) core.delete(key);
      const out = omit(json, core);
      for (const [holder, unwanted] of dropped) {
        if (holder === '' || json[holder] === undefined) continue;
        const rest = omit(json[holder] as Json, unwanted);
        if (Object.keys(rest).length === 0) delete out[holder];
        else out[holder] = rest;
      }
      return out;
    };
  }
  return (json) => json;
}

/** The projection alone, for single-resource responses. */
export function parseProjection(resource: ResourceSchema, params: URLSearchParams): (json: Json) => Json {
  return projection(resource, params);
}

/**
 * Parses the query of a list request.
 *
 * @throws {ScimProblem} 400 `invalidFilter` (filter), `invalidPath` (sortBy, attributes), `invalidValue` (numbers).
 */
export function parseListQuery(resource: ResourceSchema, params: URLSearchParams, maxPageSize: number): ListQuery {
  const startIndex = Math.max(1, integer(params.get('startIndex'), 'startIndex', 1));
  const count = Math.min(maxPageSize, Math.max(0, integer(params.get('count'), 'count', maxPageSize)));
  const query: ListQuery = { startIndex, count, project: projection(resource, params) };
  const filter = params.get('filter');
  if (filter !== null) {
    const node = parseFilter(filter);
    query.filter = { node, matches: compileFilter(node, resource) };
  }
  const sortBy = params.get('sortBy');
  if (sortBy !== null && sortBy.trim() !== '') {
    const order = (params.get('sortOrder') ?? 'ascending').toLowerCase();
    if (order !== 'ascending' && order !== 'descending') {
      throw new ScimProblem(400, 'sortOrder must be ascending or descending', 'invalidValue');
    }
    const sort = sortKey(resource, sortBy.trim());
    if (sort !== undefined) query.sort = { ...sort, descending: order === 'descending' };
  }
  return query;
}

/** An indexed lookup that every match must satisfy: `attr eq "value"` reached through `and` only. */
export function anchorOf(node: FilterNode | undefined, attribute: string): string | undefined {
  if (node === undefined) return undefined;
  if (node.kind === 'and') return anchorOf(node.left, attribute) ?? anchorOf(node.right, attribute);
  if (node.kind !== 'compare' || node.operator !== 'eq' || typeof node.value !== 'string') return undefined;
  const path = node.path.toLowerCase();
  const name = attribute.toLowerCase();
  return path === name || path.endsWith(`:${name}`) ? node.value : undefined;
}
