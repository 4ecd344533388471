/** Burst collection for digests: one alert per window per recipient, counts inside. */
export interface DigestStore {
  /** Adds an item to the open window of `key`, opening one ending at `windowEndsAt` when none is open. */
  add(entry: { key: string; windowEndsAt: number; item: Record<string, unknown> }): Promise<{
    opened: boolean;
    count: number;
    windowEndsAt: number;
  }>;
  /** Closes the window of `key` and returns its count and the first `sampleSize` items. */
  take(key: string, sampleSize: number): Promise<{ count: number; items: Record<string, unknown>[] } | undefined>;
}
