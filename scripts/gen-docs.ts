/**
 * Regenerates the documents derived from code: `docs/errors.md` from `ERROR_CODES`, and `docs/events.md` plus one
 * JSON Schema per event type in `docs/events/`. `pnpm gen` writes them; `pnpm gen --check` (and a test in core)
 * fails when the committed files are stale.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderErrorsDoc, renderEventSchemas, renderEventsDoc } from '../packages/core/test/docs.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const check = process.argv.includes('--check');
const files = new Map<string, string>([
  ['docs/errors.md', renderErrorsDoc()],
  ['docs/events.md', renderEventsDoc()],
  ...[...renderEventSchemas()].map(([type, json]) => [`docs/events/${type}.json`, json] as [string, string]),
]);

const stale: string[] = [];
for (const [path, content] of files) {
  const file = join(root, path);
  const current = existsSync(file) ? readFileSync(file, 'utf8') : undefined;
  if (current === content) continue;
  stale.push(path);
  if (!check) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, content);
  }
}
const orphans = readdirSync(join(root, 'docs/events')).filter((f) => !files.has(`docs/events/${f}`));
if (check && (stale.length > 0 || orphans.length > 0)) {
  console.error(`stale generated docs (run \`pnpm gen\`): ${[...stale, ...orphans].join(', ')}`);
  process.exit(1);
}
console.log(check ? 'generated docs are current' : `wrote ${stale.length} file(s)`);
