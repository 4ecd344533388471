/**
 * The `reqMod` and `reqOld` values of OpenLDAP's accesslog (slapo-accesslog(5)): `attr:+ value` (add),
 * `attr:- value` (delete a value; `attr:-` alone deletes the attribute), `attr:= value` (replace; `attr:=` alone
 * empties it), `attr:#` (increment); `reqOld` lines are `attr: value`.
 */
export interface Modification {
  attribute: string;
  op: 'add' | 'delete' | 'replace' | 'increment';
  values: string[];
}

const MOD = /^([A-Za-z0-9][A-Za-z0-9.;-]*):([+\-=#])(?: (.*))?$/s;

/** Groups `reqMod` lines into one modification per attribute and operation, in order. */
export function parseReqMods(lines: readonly string[]): Modification[] {
  const out: Modification[] = [];
  for (const line of lines) {
    const match = MOD.exec(line);
    if (!match) continue;
    const [, attribute, sign, value] = match as unknown as [string, string, string, string | undefined];
    const op = sign === '+' ? 'add' : sign === '-' ? 'delete' : sign === '=' ? 'replace' : 'increment';
    const last = out[out.length - 1];
    if (last && last.attribute.toLowerCase() === attribute.toLowerCase() && last.op === op) {
      if (value !== undefined) last.values.push(value);
    } else out.push({ attribute, op, values: value === undefined ? [] : [value] });
  }
  return out;
}

/** Parses `reqOld` lines (`attr: value`) into attribute → values, keyed by lower-case name. */
export function parseReqOld(lines: readonly string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of lines) {
    const colon = line.indexOf(': ');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).toLowerCase();
    out.set(name, [...(out.get(name) ?? []), line.slice(colon + 2)]);
  }
  return out;
}

/** Applies modifications of one attribute to its old values (attribute names compared case-insensitively). */
export function applyMods(old: readonly string[], mods: readonly Modification[]): string[] {
  let current = [...old];
  for (const mod of mods) {
    if (mod.op === 'replace') current = [...mod.values];
    else if (mod.op === 'add') {
      for (const value of mod.values) if (!current.includes(value)) current.push(value);
    } else if (mod.op === 'delete')
      current = mod.values.length === 0 ? [] : current.filter((v) => !mod.values.includes(v));
  }
  return current;
}
