/** What {@link measure} found. */
export interface Measurement {
  iterations: number;
  /** Operations per second over the measured phase. */
  opsPerSec: number;
  /** Mean wall time per operation, µs. */
  meanUs: number;
  p50Us: number;
  p99Us: number;
  /** Process CPU (user + system) per operation, µs. */
  cpuUs: number;
}

/**
 * Times `fn` over `iterations` calls after `warmup` calls, with `process.hrtime.bigint()` per call and
 * `process.cpuUsage()` over the measured phase. For async work at a concurrency, see {@link measureConcurrent}.
 */
export async function measure(
  fn: () => unknown,
  { iterations = 10_000, warmup = 1_000 }: { iterations?: number; warmup?: number } = {},
): Promise<Measurement> {
  for (let i = 0; i < warmup; i++) await fn();
  globalThis.gc?.();
  const samples = new Float64Array(iterations);
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) {
    const s = process.hrtime.bigint();
    const r = fn();
    if (r instanceof Promise) await r;
    samples[i] = Number(process.hrtime.bigint() - s) / 1000;
  }
  const elapsedUs = Number(process.hrtime.bigint() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return summarise(samples, elapsedUs, cpu.user + cpu.system);
}

/**
 * Runs `task` `total` times with at most `concurrency` in flight, recording each latency; returns throughput,
 * latency percentiles and sender CPU per operation. With `warmup`, `task` first runs `warmup` times (indices
 * `0 … warmup - 1`, not measured) and the measured calls get indices `warmup … warmup + total - 1`.
 */
export async function measureConcurrent(
  task: (i: number) => Promise<unknown>,
  { total, concurrency, warmup = 0 }: { total: number; concurrency: number; warmup?: number },
): Promise<Measurement> {
  if (warmup > 0) {
    let w = 0;
    const warm = async (): Promise<void> => {
      while (w < warmup) await task(w++);
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, warmup) }, warm));
  }
  const samples = new Float64Array(total);
  let next = 0;
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  async function worker(): Promise<void> {
    while (next < total) {
      const i = next++;
      const s = process.hrtime.bigint();
      await task(warmup + i);
      samples[i] = Number(process.hrtime.bigint() - s) / 1000;
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, worker));
  const elapsedUs = Number(process.hrtime.bigint() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return summarise(samples, elapsedUs, cpu.user + cpu.system);
}

function summarise(samples: Float64Array, elapsedUs: number, cpuUs: number): Measurement {
  const sorted = Float64Array.from(samples).sort();
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return {
    iterations: samples.length,
    opsPerSec: samples.length / (elapsedUs / 1e6),
    meanUs: elapsedUs / samples.length,
    p50Us: at(0.5),
    p99Us: at(0.99),
    cpuUs: cpuUs / samples.length,
  };
}

/** Percentile `q` (0..1) of unsorted values. */
export function percentile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
}
