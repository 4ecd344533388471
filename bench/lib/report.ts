import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** One measured figure, as written to `bench/results/<name>.json`. */
export interface BenchRow {
  case: string;
  metric: string;
  value: number;
  unit: string;
  /** The peer package and version compared against, e.g. `web-push@3.6.7`, or `raw floor`. */
  peer?: string;
  peer_value?: number;
  /** Higher is better for us: peer ÷ ours for costs, ours ÷ peer for rates. */
  ratio?: number;
  /** Anything a reader must know to trust the figure (what limited it, what was checked). */
  note?: string;
}

const resultsDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'results');

/**
 * Collects rows, prints them as a table and writes `bench/results/<name>.json`. With `keep`, rows of the previous
 * results file that `keep` accepts are carried over (a run of one part of a benchmark keeps the other parts' rows).
 */
export function createReport(name: string, options: { keep?: (row: BenchRow) => boolean } = {}) {
  const rows: BenchRow[] = [];
  const previousFile = join(resultsDir, `${name}.json`);
  if (options.keep && existsSync(previousFile)) {
    const previous = JSON.parse(readFileSync(previousFile, 'utf8')) as { results?: BenchRow[] };
    rows.push(...(previous.results ?? []).filter(options.keep));
  }
  return {
    add(row: BenchRow): void {
      rows.push(row);
    },
    /** Adds a comparison row: `lowerIsBetter` for costs (µs, ms, MB), otherwise a rate. */
    compare(
      row: Omit<BenchRow, 'ratio' | 'peer' | 'peer_value'> & { peer: string; peer_value: number },
      lowerIsBetter: boolean,
    ): void {
      const ratio = lowerIsBetter ? row.peer_value / row.value : row.value / row.peer_value;
      rows.push({ ...row, ratio: round(ratio, 2) });
    },
    write(): string {
      const file = join(resultsDir, `${name}.json`);
      mkdirSync(resultsDir, { recursive: true });
      const doc = { name, date: new Date().toISOString(), node: process.version, results: rows };
      writeFileSync(file, `${JSON.stringify(doc, null, 2)}\n`);
      printTable(name, rows);
      console.log(`\nwrote ${file}`);
      return file;
    },
  };
}

function printTable(name: string, rows: readonly BenchRow[]): void {
  const header = ['case', 'metric', 'value', 'unit', 'peer', 'peer value', 'ratio'];
  const body = rows.map((r) => [
    r.case,
    r.metric,
    format(r.value),
    r.unit,
    r.peer ?? '',
    r.peer_value === undefined ? '' : format(r.peer_value),
    r.ratio === undefined ? '' : `${r.ratio.toFixed(2)}×`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 2 || i >= 5 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ');
  console.log(`\n${name} (Node ${process.version}, ${new Date().toISOString()})`);
  console.log(line(header));
  console.log(widths.map((w) => '─'.repeat(w)).join('  '));
  for (const row of body) console.log(line(row));
  for (const r of rows) if (r.note) console.log(`  · ${r.case}: ${r.note}`);
}

function format(value: number): string {
  if (Math.abs(value) >= 1000) return Math.round(value).toLocaleString('en-US');
  return String(round(value, value >= 10 ? 1 : 3));
}

/** Rounds to `digits` decimals. */
export function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** A report under construction. */
export type Report = ReturnType<typeof createReport>;
