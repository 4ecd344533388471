import { canonicalJson, normaliseAuditEntry } from '@idrelay/core';
import { describe, expect, it } from 'vitest';
import { hashParts } from './audit.js';

describe('hashParts', () => {
  it('splits the canonical JSON of an entry around its seq, whichever fields it has', () => {
    const entries = [
      { at: 1, action: 'a', actor: 'u' },
      { at: 1, action: 'a', actor: 'u', target: 't', eventRef: 'e', details: { seq: 9, z: [1, { y: 2 }] } },
      { at: 1, action: 'a', actor: 'u', details: { note: 'é 😀 "q" \\' } },
      { at: 1, action: 'a', actor: 'u', target: 'seq":1' },
    ];
    for (const raw of entries) {
      const entry = normaliseAuditEntry(raw);
      const [before, after] = hashParts(entry);
      for (const seq of [1, 42, 9_007_199_254_740_991]) {
        expect(`${before}${seq}${after}`).toBe(canonicalJson({ ...entry, seq }));
      }
    }
  });
});
