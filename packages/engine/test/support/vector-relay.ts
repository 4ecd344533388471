/** A relay for the protocol vectors: no transports needed, the vectors' clock, no timers. */
import type { Directory, Store } from '@idrelay/core';
import { createRelay as create, type Relay } from '../../src/index.js';
import { manualScheduler } from './scenario.js';

export function createRelay(store: Store, directory: Directory, now: number): Relay {
  return create({ store, directory, transports: [], rules: [], clock: { now: () => now }, scheduler: manualScheduler });
}

/** The error a promise rejects with (failing the test when it resolves). */
export async function errorOf(work: Promise<unknown>): Promise<{ code?: string }> {
  try {
    await work;
  } catch (error) {
    return error as { code?: string };
  }
  throw new Error('expected a refusal');
}
