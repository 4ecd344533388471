import { IdrelayError } from '@idrelay/core';

/**
 * Escapes a value for an LDAP filter (RFC 4515 §3): `*`, `(`, `)`, `\`, NUL and every byte outside printable
 * ASCII become `\XX`, so a value can never close an assertion, add a wildcard or start another filter.
 *
 * @see https://www.rfc-editor.org/rfc/rfc4515#section-3
 * @example
 * ```ts
 * escapeFilterValue('*)(uid=*'); // '\\2a\\29\\28uid=\\2a'
 * ```
 */
export function escapeFilterValue(value: string): string {
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    const safe = byte >= 0x20 && byte < 0x7f && byte !== 0x2a && byte !== 0x28 && byte !== 0x29 && byte !== 0x5c;
    out += safe ? String.fromCharCode(byte) : `\\${byte.toString(16).padStart(2, '0')}`;
  }
  return out;
}

const DN_SPECIAL = new Set(['"', '+', ',', ';', '<', '>', '\\', '=']);

/**
 * Escapes an attribute value for use in a distinguished name (RFC 4514 §2.4): `" + , ; < > \ =` anywhere, a
 * leading `#` or space, a trailing space, and NUL (as `\00`) are escaped, so a value cannot add an RDN or
 * move the entry to another subtree.
 *
 * @see https://www.rfc-editor.org/rfc/rfc4514#section-2.4
 * @example
 * ```ts
 * `uid=${escapeDNValue('smith, john+admin')},ou=people,dc=example,dc=com`; // uid=smith\, john\+admin,…
 * ```
 */
export function escapeDNValue(value: string): string {
  const chars = [...value];
  return chars
    .map((char, index) => {
      if (char === '\0') return '\\00';
      if (DN_SPECIAL.has(char)) return `\\${char}`;
      if (index === 0 && (char === '#' || char === ' ')) return `\\${char}`;
      if (index === chars.length - 1 && char === ' ') return '\\ ';
      return char;
    })
    .join('');
}

/** One attribute type and value of a relative distinguished name. */
export interface Ava {
  type: string;
  value: string;
}

const ATTRIBUTE_TYPE = /^(?:[A-Za-z][A-Za-z0-9-]*|\d+(?:\.\d+)+)$/;
const HEX_PAIR = /^[0-9a-fA-F]{2}$/;
const ESCAPABLE = '"+,;<>\\=# ';

function malformed(dn: string, why: string): IdrelayError {
  return new IdrelayError('ERR_LDAP_DN', `Malformed DN (${why})`, { details: { dn: dn.slice(0, 512) } });
}

/**
 * Parses a distinguished name (RFC 4514 §3) into its RDNs, each a list of attribute type and value pairs
 * (multi-valued RDNs joined by `+`), decoding `\XX` hex pairs and escaped specials. `#`-prefixed BER values are
 * refused. The first RDN is the entry's own.
 *
 * @throws {IdrelayError} `ERR_LDAP_DN` when the string is not a DN.
 * @see https://www.rfc-editor.org/rfc/rfc4514#section-3
 * @example
 * ```ts
 * parseDN('cn=Smith\\, John+uid=js,ou=people,dc=example,dc=com')[0];
 * // [{ type: 'cn', value: 'Smith, John' }, { type: 'uid', value: 'js' }]
 * ```
 */
export function parseDN(dn: string): Ava[][] {
  const rdns: Ava[][] = [];
  if (dn.trim() === '') return rdns;
  let rdn: Ava[] = [];
  let i = 0;
  while (i <= dn.length) {
    const eq = dn.indexOf('=', i);
    if (eq < 0) throw malformed(dn, 'an RDN without "="');
    const type = dn.slice(i, eq).trim();
    if (!ATTRIBUTE_TYPE.test(type)) throw malformed(dn, `bad attribute type "${type.slice(0, 64)}"`);
    i = eq + 1;
    while (dn[i] === ' ') i++;
    if (dn[i] === '#') throw malformed(dn, 'BER-encoded values are not accepted');
    let value = '';
    let run = i;
    // Escaped spaces are kept; only unescaped trailing spaces are dropped (RFC 4514 §3).
    let keep = 0;
    for (; i < dn.length; i++) {
      const char = dn.charCodeAt(i);
      if (char === 0x2c || char === 0x2b) break;
      if (char === 0x5c) {
        value += dn.slice(run, i);
        const next = dn[i + 1];
        if (next === undefined) throw malformed(dn, 'a trailing backslash');
        if (HEX_PAIR.test(dn.slice(i + 1, i + 3))) {
          const bytes: number[] = [];
          while (dn[i] === '\\' && HEX_PAIR.test(dn.slice(i + 1, i + 3))) {
            bytes.push(Number.parseInt(dn.slice(i + 1, i + 3), 16));
            i += 3;
          }
          const raw = Buffer.from(bytes);
          const decoded = raw.toString('utf8');
          if (!Buffer.from(decoded, 'utf8').equals(raw)) throw malformed(dn, 'a value that is not UTF-8');
          value += decoded;
          i -= 1;
        } else if (ESCAPABLE.includes(next)) {
          value += next;
          i += 1;
        } else throw malformed(dn, `an invalid escape "\\${next}"`);
        run = i + 1;
        keep = value.length;
        continue;
      }
      if (char === 0x22 || char === 0x3b || char === 0x3c || char === 0x3e || char === 0) {
        throw malformed(dn, `an unescaped "${char === 0 ? 'NUL' : dn[i]}"`);
      }
    }
    value += dn.slice(run, i);
    let end = value.length;
    while (end > keep && value[end - 1] === ' ') end--;
    rdn.push({ type, value: value.slice(0, end) });
    if (dn[i] === '+') {
      i++;
      continue;
    }
    rdns.push(rdn);
    rdn = [];
    if (i >= dn.length) break;
    i++;
  }
  return rdns;
}

/** Serialises parsed RDNs back to an RFC 4514 string, escaping every value. */
export function formatDN(rdns: readonly (readonly Ava[])[]): string {
  return rdns.map((rdn) => rdn.map((ava) => `${ava.type}=${escapeDNValue(ava.value)}`).join('+')).join(',');
}

/**
 * A comparison key for a DN: parsed, attribute types and values lower-cased, re-serialised. Two spellings of the
 * same entry (`UID=Bob, OU=People` and `uid=bob,ou=people`) get the same key.
 */
export function dnKey(dn: string): string {
  // Without escapes or quotes a DN splits on its separators alone; spaces around them are not significant.
  if (!/[\\"#;<>]/.test(dn)) {
    const key = dn
      .toLowerCase()
      .replace(/\s*([,=+])\s*/g, '$1')
      .trim();
    if (/^(?:[a-z][a-z0-9-]*|\d+(?:\.\d+)+)=[^,=+]*(?:[,+](?:[a-z][a-z0-9-]*|\d+(?:\.\d+)+)=[^,=+]*)*$/.test(key))
      return key;
  }
  return formatDN(
    parseDN(dn).map((rdn) => rdn.map((ava) => ({ type: ava.type.toLowerCase(), value: ava.value.toLowerCase() }))),
  );
}

/** Builds `type=value,parent` with the value escaped per RFC 4514. */
export function childDN(type: string, value: string, parent: string): string {
  if (!ATTRIBUTE_TYPE.test(type)) throw malformed(type, `bad attribute type "${type.slice(0, 64)}"`);
  return `${type}=${escapeDNValue(value)}${parent === '' ? '' : `,${parent}`}`;
}

/** True when `dn` is `base` or below it (compared as normalised DNs, not as raw strings). */
export function isUnder(dn: string, base: string): boolean {
  const key = dnKey(dn);
  const baseKey = dnKey(base);
  return baseKey === '' || key === baseKey || key.endsWith(`,${baseKey}`);
}
