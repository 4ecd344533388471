/**
 * `pnpm bench <name>` runs `bench/<name>.ts` in a fresh Node 22 process (so one benchmark's JIT state and heap never
 * colour another's) and lists the available benchmarks when no name is given.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const available = readdirSync(here)
  .filter((file) => file.endsWith('.ts') && file !== 'run.ts')
  .map((file) => file.slice(0, -3));
// The first argument names the benchmark; the rest are its own arguments (e.g. `transports webpush`).
const names = process.argv.slice(2, 3).filter((arg) => !arg.startsWith('-'));

if (names.length === 0) {
  console.log(`usage: pnpm bench <name> [...]\navailable: ${available.join(', ')}`);
  process.exit(1);
}
for (const name of names) {
  const file = join(here, `${name}.ts`);
  if (!existsSync(file)) {
    console.error(`no benchmark "${name}" (available: ${available.join(', ')})`);
    process.exit(1);
  }
  const result = spawnSync(
    process.execPath,
    ['--expose-gc', '--conditions=@idrelay/source', '--import', 'tsx', file, ...process.argv.slice(3)],
    { stdio: 'inherit', env: { ...process.env, NODE_ENV: 'production' } },
  );
  if (result.status !== 0) process.exit(result.status ?? 1);
}
