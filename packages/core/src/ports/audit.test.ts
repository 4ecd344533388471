import { describe, expect, it } from 'vitest';
import { AUDIT_GENESIS_HASH, canonicalJson, chainAuditEntries, hashAuditEntry, verifyAuditChain } from './audit.js';

const entries = [
  { at: 1, action: 'event.ingested', actor: 'system', eventRef: 'src#1' },
  { at: 2, action: 'delivery.delivered', actor: 'system', target: 'd-1', details: { attempts: 1 } },
  { at: 3, action: 'device.pruned', actor: 'system', target: 'dev-9', details: { code: 'Unregistered' } },
];

describe('the audit hash chain', () => {
  it('numbers entries from 1 and chains each to the one before', () => {
    const chain = chainAuditEntries(undefined, entries);
    expect(chain.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(chain[0]!.prevHash).toBe(AUDIT_GENESIS_HASH);
    expect(chain[1]!.prevHash).toBe(chain[0]!.hash);
    expect(verifyAuditChain(chain)).toBeUndefined();
  });

  it('continues after a stored head exactly as one long append would', () => {
    const whole = chainAuditEntries(undefined, entries);
    const first = chainAuditEntries(undefined, entries.slice(0, 1));
    const rest = chainAuditEntries(first[0], entries.slice(1));
    expect([...first, ...rest]).toEqual(whole);
  });

  it('finds the first tampered, reordered or dropped entry', () => {
    const chain = chainAuditEntries(undefined, entries);
    const edited = chain.map((e) => (e.seq === 2 ? { ...e, details: { attempts: 7 } } : e));
    expect(verifyAuditChain(edited)).toBe(2);
    expect(verifyAuditChain([chain[0]!, chain[2]!])).toBe(3);
    expect(verifyAuditChain([chain[1]!, chain[0]!], AUDIT_GENESIS_HASH)).toBe(2);
  });

  it('hashes only what a store keeps, so entries read back still verify', () => {
    const withExtra = { ...entries[0]!, secret: 'not stored', details: { when: new Date(0), skip: undefined } };
    const [entry] = chainAuditEntries(undefined, [withExtra]);
    expect(entry).not.toHaveProperty('secret');
    expect(entry!.details).toEqual({ when: '1970-01-01T00:00:00.000Z' });
    const readBack = JSON.parse(JSON.stringify(entry));
    expect(verifyAuditChain([readBack])).toBeUndefined();
  });

  it('canonical JSON sorts keys at every depth and drops undefined', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: undefined }], c: null } })).toBe(
      '{"a":{"c":null,"d":[2,{"z":1}]},"b":1}',
    );
    // Keys in UTF-16 code-unit order (digits, upper case, lower case, then beyond ASCII); undefined in an array is null.
    expect(canonicalJson({ b: [undefined, 'é'], B: 1, '10': 2, '9': 3, é: 4, '\u{1F600}': 5 })).toBe(
      '{"10":2,"9":3,"B":1,"b":[null,"é"],"é":4,"\u{1F600}":5}',
    );
  });

  it('hashes an entry exactly as stored chains were hashed: a changed serialisation would fork every chain', () => {
    const entry = {
      at: 1_767_225_600_000,
      action: 'response.accepted',
      actor: 'u-1',
      target: 'n-1',
      details: {
        deviceId: 'd-1',
        decision: 'approve',
        proofId: 'jti-0123456789abcdef',
        flowId: 'v-1',
        state: 'approved',
      },
    };
    expect(hashAuditEntry(3, AUDIT_GENESIS_HASH, entry)).toBe(
      'f48e82c2fb54b56eceb8f8d8dd82344ce233bfb7303c48b22d5f94ea9b102897',
    );
  });
});
