import { IdrelayError } from '@idrelay/core';
import { escapeFilterValue } from './escape.js';

/**
 * A typed LDAP filter: the only way this package builds a search filter. Attribute names are checked against
 * RFC 4512 `descr`/`numericoid` and every value is escaped per RFC 4515, so event data can never widen a search.
 * `attribute` names are logical (`department`) or LDAP names, resolved through the schema mapping.
 */
export type LdapFilterSpec =
  | { and: readonly LdapFilterSpec[] }
  | { or: readonly LdapFilterSpec[] }
  | { not: LdapFilterSpec }
  | { attribute: string; equals: string }
  | { attribute: string; present: true }
  | { attribute: string; startsWith: string }
  | { attribute: string; contains: string }
  | { attribute: string; greaterOrEqual: string }
  | { attribute: string; lessOrEqual: string }
  /** An extensible match with a matching rule OID, e.g. AD's LDAP_MATCHING_RULE_IN_CHAIN 1.2.840.113556.1.4.1941. */
  | { attribute: string; rule: string; equals: string };

const ATTRIBUTE = /^(?:[A-Za-z][A-Za-z0-9-]*|\d+(?:\.\d+)+)(?:;[A-Za-z0-9-]+)*$/;
const OID = /^\d+(?:\.\d+)+$/;

function invalid(message: string, details: Record<string, unknown> = {}): IdrelayError {
  return new IdrelayError('ERR_LDAP_FILTER', message, { details });
}

/** Checks an LDAP attribute description (RFC 4512 §2.5) and returns it. */
export function checkAttributeName(name: string): string {
  if (!ATTRIBUTE.test(name) || name.length > 128) throw invalid(`"${name.slice(0, 64)}" is not an attribute name`);
  return name;
}

/**
 * Compiles a {@link LdapFilterSpec} to an RFC 4515 filter string. `resolve` maps a logical attribute name to the
 * LDAP attribute (and throws for names it does not know); by default names are used as they are.
 *
 * @throws {IdrelayError} `ERR_LDAP_FILTER` for an empty `and`/`or`, a bad attribute name or a bad rule OID.
 * @see https://www.rfc-editor.org/rfc/rfc4515
 * @example
 * ```ts
 * compileFilter({ and: [{ attribute: 'departmentNumber', equals: 'it' }, { attribute: 'l', equals: '*)(uid=*' }] });
 * // '(&(departmentNumber=it)(l=\\2a\\29\\28uid=\\2a))'
 * ```
 */
export function compileFilter(spec: LdapFilterSpec, resolve: (name: string) => string = (name) => name): string {
  const depth = (s: LdapFilterSpec, level: number): string => {
    if (level > 32) throw invalid('a filter nested deeper than 32 levels');
    if ('and' in s || 'or' in s) {
      const parts = 'and' in s ? s.and : s.or;
      if (parts.length === 0) throw invalid('an empty "and" or "or"');
      if (parts.length === 1) return depth(parts[0]!, level + 1);
      return `(${'and' in s ? '&' : '|'}${parts.map((p) => depth(p, level + 1)).join('')})`;
    }
    if ('not' in s) return `(!${depth(s.not, level + 1)})`;
    const name = checkAttributeName(resolve(s.attribute));
    if ('rule' in s) {
      if (!OID.test(s.rule)) throw invalid(`"${s.rule.slice(0, 64)}" is not a matching rule OID`);
      return `(${name}:${s.rule}:=${escapeFilterValue(s.equals)})`;
    }
    if ('equals' in s) return `(${name}=${escapeFilterValue(s.equals)})`;
    if ('present' in s) return `(${name}=*)`;
    if ('startsWith' in s) return `(${name}=${escapeFilterValue(s.startsWith)}*)`;
    if ('contains' in s) return `(${name}=*${escapeFilterValue(s.contains)}*)`;
    if ('greaterOrEqual' in s) return `(${name}>=${escapeFilterValue(s.greaterOrEqual)})`;
    return `(${name}<=${escapeFilterValue(s.lessOrEqual)})`;
  };
  return depth(spec, 0);
}

/**
 * The filter of an audience's attribute record (`{ department: ['finance', 'it'], location: 'zurich' }`): every
 * key must match, an array matches any of its values.
 */
export function attributeRecordFilter(filter: Readonly<Record<string, string | readonly string[]>>): LdapFilterSpec {
  const entries = Object.entries(filter);
  if (entries.length === 0) throw invalid('an attribute filter needs at least one attribute');
  return {
    and: entries.map(([attribute, wanted]) => {
      const values = typeof wanted === 'string' ? [wanted] : wanted;
      if (values.length === 0) throw invalid(`no values for "${attribute.slice(0, 64)}"`, { attribute });
      return { or: values.map((value) => ({ attribute, equals: value })) };
    }),
  };
}
