/**
 * Every package README's Quick start, as a user would copy it: extracted, written into the workspace (so the
 * workspace packages resolve), type-checked with one `tsc` over all of them, then run with tsx — in parallel, each
 * in an empty working directory — and expected to exit 0. A Quick start that needs a server starts a testkit
 * stand-in; the PostgreSQL one gets `DATABASE_URL` of a fresh database on the test server.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { requirePostgres } from '@idrelay/testkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quickStartSnippet } from './quick-start.js';

const root = resolve(import.meta.dirname, '../..');
const packages = readdirSync(join(root, 'packages')).filter((name) => {
  try {
    readFileSync(join(root, 'packages', name, 'README.md'));
    return true;
  } catch {
    return false;
  }
});

interface Run {
  code: number | null;
  output: string;
}

function run(file: string, args: readonly string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<Run> {
  return new Promise((done) => {
    execFile(
      file,
      args,
      { cwd: options.cwd, env: options.env ?? process.env, timeout: 45_000, maxBuffer: 8 << 20 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        done({ code, output: `${stdout}${stderr}`.trim() });
      },
    );
  });
}

const postgres = await requirePostgres();
const work = join(root, '.readme-check', `run-${process.pid}-${Date.now()}`);
const snippets = new Map<string, string | undefined>();
const typeErrors = new Map<string, string[]>();
const runs = new Map<string, Run>();
let database: string | undefined;

beforeAll(async () => {
  mkdirSync(work, { recursive: true });
  for (const name of packages) {
    const snippet = quickStartSnippet(readFileSync(join(root, 'packages', name, 'README.md'), 'utf8'));
    snippets.set(name, snippet);
    if (snippet !== undefined) writeFileSync(join(work, `${name}.ts`), snippet);
  }
  writeFileSync(
    join(work, 'tsconfig.json'),
    JSON.stringify({ extends: '../../tsconfig.base.json', include: ['*.ts'], compilerOptions: { noEmit: true } }),
  );
  const bin = (tool: string) => join(root, 'node_modules', '.bin', tool);
  const checked = await run(bin('tsc'), ['-p', join(work, 'tsconfig.json'), '--pretty', 'false'], { cwd: work });
  for (const line of checked.output.split('\n')) {
    const match = /^(?:.*\/)?([\w-]+)\.ts\(\d+,\d+\): error/.exec(line);
    if (match) typeErrors.set(match[1]!, [...(typeErrors.get(match[1]!) ?? []), line]);
  }
  let env: NodeJS.ProcessEnv = process.env;
  if (postgres.available) {
    database = `readme_${process.pid}_${Date.now()}`;
    const admin = new pg.Client({ connectionString: postgres.url });
    await admin.connect();
    await admin.query(`CREATE DATABASE "${database}"`);
    await admin.end();
    const url = new URL(postgres.url);
    url.pathname = `/${database}`;
    env = { ...process.env, DATABASE_URL: url.toString() };
  }
  await Promise.all(
    [...snippets].map(async ([name, snippet]) => {
      if (snippet === undefined || (name === 'store-postgres' && !postgres.available)) return;
      const cwd = mkdtempSync(join(tmpdir(), `readme-${name}-`));
      try {
        runs.set(name, await run(bin('tsx'), ['--conditions=@idrelay/source', join(work, `${name}.ts`)], { cwd, env }));
      } finally {
        rmSync(cwd, { recursive: true, force: true });
      }
    }),
  );
}, 90_000);

afterAll(async () => {
  rmSync(work, { recursive: true, force: true });
  if (database) {
    const admin = new pg.Client({ connectionString: postgres.url });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
    await admin.end();
  }
});

describe.each(packages)('the Quick start of packages/%s/README.md', (name) => {
  it('is a ts block under "## Quick start"', () => {
    expect(snippets.get(name), 'no ```ts block under "## Quick start"').toBeDefined();
  });

  it('type-checks as written', () => {
    expect(typeErrors.get(name) ?? []).toEqual([]);
  });

  it.skipIf(name === 'store-postgres' && !postgres.available)('runs as written and exits 0', () => {
    const result = runs.get(name);
    expect(result, 'it did not run').toBeDefined();
    expect(result!.code, result!.output).toBe(0);
  });
});
