import { describe, expect, it } from 'vitest';
import { newSecret, tokenHash } from './token-hash.js';

describe('newSecret', () => {
  it('draws 256-bit base64url secrets that never start with "-" (safe as a command-line argument)', () => {
    // Without the redraw, 2,000 secrets hold one starting with '-' with probability 1 - (63/64)^2000 ≈ 1.
    const secrets = Array.from({ length: 2_000 }, () => newSecret());
    expect(secrets.every((s) => /^[A-Za-z0-9_][A-Za-z0-9_-]{42}$/.test(s))).toBe(true);
    expect(new Set(secrets).size).toBe(secrets.length);
  });

  it('stores only the SHA-256 of a secret', () => {
    expect(tokenHash('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});
