import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { defineConfig } from 'tsup';

/**
 * The one build config every package uses (`tsup --config ../../tsup.config.ts`).
 *
 * Entries come from the package's own `exports` map: each subpath's `@idrelay/source` condition names the
 * source file, so the map is the single place a new subpath is declared.
 */
type ExportEntry = { '@idrelay/source'?: string };
const pkg = JSON.parse(readFileSync(resolve(process.cwd(), 'package.json'), 'utf8')) as {
  exports?: Record<string, ExportEntry | string>;
};
const entry = Object.values(pkg.exports ?? {})
  .map((value) => (typeof value === 'object' ? value['@idrelay/source'] : undefined))
  .filter((source): source is string => typeof source === 'string');

export default defineConfig({
  entry: entry.length > 0 ? entry : ['src/index.ts'],
  format: ['esm'],
  target: 'node22',
  platform: 'node',
  dts: true,
  sourcemap: true,
  clean: true,
  splitting: true,
  treeshake: true,
  outDir: 'dist',
});
