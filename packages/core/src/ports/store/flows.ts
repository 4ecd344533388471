import type { EmitOptions } from './outgoing.js';

/** A running flow (an approval, a verification, an onboarding sequence). */
export interface FlowRecord {
  id: string;
  /** Flow definition name, e.g. `access-approval`. */
  kind: string;
  /** The definition version the flow started with; pending work keeps it after the definition changes. */
  definitionVersion: number;
  /** Business key, unique per kind, e.g. the access request id. */
  key: string;
  state: string;
  data: Record<string, unknown>;
  transitions: number;
  /** Row version for optimistic concurrency. */
  version: number;
  createdAt: number;
  updatedAt: number;
}

/** Flows, updated with optimistic concurrency. */
export interface FlowStore {
  /** Creates a flow; returns the existing one when (`kind`, `key`) is taken (idempotent start). */
  create(flow: Omit<FlowRecord, 'version'>): Promise<{ created: boolean; flow: FlowRecord }>;
  get(id: string): Promise<FlowRecord | undefined>;
  findByKey(kind: string, key: string): Promise<FlowRecord | undefined>;
  /**
   * Applies `patch` when the stored version is `expectedVersion`; throws `ERR_STORE_CONFLICT` otherwise. `emit`
   * entries (a decision for the IAM system) join the outgoing log in the same transaction, due at `updatedAt`:
   * both or neither.
   */
  update(
    id: string,
    expectedVersion: number,
    patch: Partial<Pick<FlowRecord, 'state' | 'data' | 'transitions'>> & { updatedAt: number },
    options?: EmitOptions,
  ): Promise<FlowRecord>;
}
