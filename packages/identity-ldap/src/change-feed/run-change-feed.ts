import type { Checkpoint, EventSink, PullIdentitySource } from '@idrelay/core';

/** Where a change feed's checkpoint is kept between runs (a file, a row of your database, a key in Redis …). */
export interface CheckpointStore {
  load(): Promise<Checkpoint | undefined>;
  save(checkpoint: Checkpoint): Promise<void>;
}

/** Options of {@link runChangeFeed}. */
export interface RunChangeFeedOptions {
  /** Receives each batch; the checkpoint is saved only after it resolves (e.g. `relay.ingest`). */
  ingest: EventSink;
  checkpoints: CheckpointStore;
  /** Stops the loop. */
  signal?: AbortSignal;
}

/**
 * Drives a pull source: loads the stored checkpoint, reads batches, hands each to `ingest`, and saves the batch's
 * checkpoint only once `ingest` resolved — so a crash in between re-reads the batch (the feed's deterministic ids
 * let ingest drop the copies) instead of losing it. Resolves when `signal` aborts; rejects when `ingest`, the
 * store or the source fails for good.
 *
 * @example
 * ```ts
 * await runChangeFeed(feed, { ingest: (events) => relay.ingest(events), checkpoints: fileCheckpoints, signal });
 * ```
 */
export async function runChangeFeed(source: PullIdentitySource, options: RunChangeFeedOptions): Promise<void> {
  const stored = await options.checkpoints.load();
  const reading = source.read({
    ...(stored === undefined ? {} : { checkpoint: stored }),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  for await (const batch of reading) {
    if (batch.events.length > 0) await options.ingest(batch.events);
    await options.checkpoints.save(batch.checkpoint);
    if (options.signal?.aborted) return;
  }
}
