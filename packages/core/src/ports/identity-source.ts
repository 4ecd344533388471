import type { IdentityEvent } from '../events/envelope.js';

/** An opaque position in a source's change feed (an LDAP CSN, a DirSync cookie, an SSF poll `ack` set …). */
export type Checkpoint = string;

/** A batch of events from a source and the checkpoint to store once they are ingested. */
export interface SourceBatch {
  events: readonly IdentityEvent[];
  /** Persist after every event of the batch was ingested; resume from it after a restart. */
  checkpoint: Checkpoint;
}

/**
 * A source the relay polls: LDAP change feeds, OTDS polling, SSF poll (RFC 8936). Reading resumes from the last
 * stored checkpoint, so a crash between read and ingest re-reads rather than loses (ingest dedupes by id).
 */
export interface PullIdentitySource {
  readonly kind: 'pull';
  readonly name: string;
  /** Yields batches until `signal` aborts; waits between polls as the source sees fit. */
  read(options: { checkpoint?: Checkpoint; signal?: AbortSignal }): AsyncIterable<SourceBatch>;
  close?(): Promise<void>;
}

/** Where a push source hands its events; resolves once they are durably ingested (then the source acknowledges). */
export type EventSink = (events: readonly IdentityEvent[]) => Promise<void>;

/**
 * A source that receives events over HTTP: SCIM service provider, SSF push receiver (RFC 8935), webhooks.
 * It authenticates every request, answers only after `sink` resolved, and exposes a web-standard handler.
 */
export interface PushIdentitySource {
  readonly kind: 'push';
  readonly name: string;
  /** Connects the source to the relay. Events arriving before `start` are refused with 503. */
  start(sink: EventSink): void;
  /** Web-standard handler for the gateway or the user's own server. */
  handle(request: Request): Promise<Response>;
  close?(): Promise<void>;
}

/** A source of identity events, pulled or pushed. */
export type IdentitySource = PullIdentitySource | PushIdentitySource;
