/**
 * Regenerates the configuration reference in docs/gateway.md from the zod schema:
 * `pnpm exec tsx --conditions=@idrelay/source packages/gateway/scripts/gen-docs.ts`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { withConfigReference } from './config-doc.js';

const file = resolve(import.meta.dirname, '../../../docs/gateway.md');
writeFileSync(file, withConfigReference(readFileSync(file, 'utf8')));
console.log(`wrote ${file}`);
