import { readFileSync } from 'node:fs';

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
  /**
   * CPU of the whole machine per operation, µs: every core's busy time (user, nice, system, irq, softirq) from
   * `/proc/stat` over the measured phase, so a database server's backends count too. Undefined off Linux.
   */
  machineCpuUs?: number;
  /** Share of the cores' time the hypervisor gave to other guests during the measured phase (`steal`), 0-1. */
  steal?: number;
}

/** Busy and steal jiffies of all cores together, from the `cpu` line of `/proc/stat`; undefined off Linux. */
function machineTicks(): { busy: number; steal: number; total: number } | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
    const [user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number) as [
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
    ];
    const busy = user + nice + system + irq + softirq;
    return { busy, steal, total: busy + idle + iowait + steal };
  } catch {
    return undefined;
  }
}

/** Machine CPU per operation (µs) and steal share between two {@link machineTicks} readings. */
function machineUse(before: ReturnType<typeof machineTicks>, operations: number) {
  const after = machineTicks();
  if (before === undefined || after === undefined) return {};
  const tickUs = 1e6 / 100; // USER_HZ is 100 on Linux
  const total = after.total - before.total;
  return {
    machineCpuUs: ((after.busy - before.busy) * tickUs) / operations,
    steal: total > 0 ? (after.steal - before.steal) / total : 0,
  };
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
  const ticks = machineTicks();
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
  return { ...summarise(samples, elapsedUs, cpu.user + cpu.system), ...machineUse(ticks, iterations) };
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
  const ticks = machineTicks();
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
  return { ...summarise(samples, elapsedUs, cpu.user + cpu.system), ...machineUse(ticks, total) };
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
