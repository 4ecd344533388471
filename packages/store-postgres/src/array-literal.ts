/**
 * PostgreSQL array literals for `unnest($1::text[], …)` parameters, built directly. node-postgres encodes a JS
 * array by running two regular expressions over every element; most of our elements (ids, keys, platforms) need
 * no escaping at all, so checking first and quoting as-is costs a fraction of that on a 5,000-row batch.
 * Array literal syntax: https://www.postgresql.org/docs/15/arrays.html#ARRAYS-IO
 */

/** `{"a","b \"quoted\"",NULL}`: every string double-quoted, `"` and `\` backslash-escaped; `null` is SQL NULL. */
export function textArray(values: readonly (string | null)[]): string {
  let out = '{';
  for (let i = 0; i < values.length; i++) {
    const value = values[i]!;
    if (i > 0) out += ',';
    if (value === null) {
      out += 'NULL';
      continue;
    }
    const safe = !value.includes('"') && !value.includes('\\');
    out += `"${safe ? value : value.replace(/[\\"]/g, '\\$&')}"`;
  }
  return `${out}}`;
}

/** `{1,2,NULL}` for `int[]`/`bigint[]` parameters; the values are finite integers (or digit strings), or null. */
export function integerArray(values: readonly (number | string | null)[]): string {
  return `{${values.map((value) => (value === null ? 'NULL' : value)).join(',')}}`;
}
