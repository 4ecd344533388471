/**
 * `pnpm bench footprint [--runs N] [--no-build]`: what a user pays to install and to load each publishable package,
 * beside the package it replaces: the install size in an empty project and the CPU time to import it in a fresh
 * Node process. `ratio` = ours ÷ peer, so below 1 is lighter than the peer.
 *
 * How, without reaching a registry: our packages are built and packed with `pnpm pack` (which rewrites
 * `workspace:` and `catalog:` ranges as publishing does) into a temporary folder; each case is an empty project
 * into which `pnpm add --offline` installs the tarballs, or the peer by name, from the local pnpm store (the peers
 * are devDependencies of the workspace, so `pnpm install` has put them there). `node-linker=hoisted` and
 * `package-import-method=copy` give the flat, real-file `node_modules` npm would make; its size is the sum of the
 * files' bytes (pnpm's own bookkeeping, `node_modules/.pnpm` and `.modules.yaml`, left out); MB = 10⁶ bytes.
 *
 * Import CPU: `process.cpuUsage()` (user + system) around `await import(...)` of the entry points a user of the
 * package imports, each run in a fresh `node` (the one running this, Node 22) with no compile cache, in the case's
 * project; the median of `--runs` (default 15). transport-fcm loads firebase-admin on its first send, not on import;
 * its install includes firebase-admin (its peer dependency, installed with it).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createReport, round } from './lib/report.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const runs = Number(args[args.indexOf('--runs') + 1]) || 15;
const build = !args.includes('--no-build');
const PNPM = ['pnpm@12.18.0'];
const CORE_IMPORT_TARGET_MS = 30;

/** What one side of a comparison installs and imports. */
interface Install {
  label: string;
  /** Our packages (folder names under packages/) installed from their tarballs. */
  tarballs?: string[];
  /** A registry package installed by name and version from the local store. */
  spec?: string;
  /** Entry points a user imports. */
  imports: string[];
}

const rootDev = readJson(join(root, 'package.json')).devDependencies as Record<string, string>;
const fcmPeers = readJson(join(root, 'packages/transport-fcm/package.json')).peerDependencies as
  | Record<string, string>
  | undefined;
const fcmDeps = readJson(join(root, 'packages/transport-fcm/package.json')).dependencies as Record<string, string>;
const exact = (range: string | undefined) => (range ?? '').replace(/^[\^~]/, '');
const peer = (name: string, range: string | undefined, imports = [name]): Install => ({
  label: `${name}@${exact(range)}`,
  spec: `${name}@${exact(range)}`,
  imports,
});

const cases: Array<{ name: string; ours: Install; peers: Install[] }> = [
  {
    name: 'core',
    ours: { label: '@idrelay/core', tarballs: ['core'], imports: ['@idrelay/core'] },
    peers: [],
  },
  {
    name: 'transport-webpush',
    ours: {
      label: '@idrelay/transport-webpush',
      tarballs: ['core', 'transport-webpush'],
      imports: ['@idrelay/transport-webpush'],
    },
    peers: [peer('web-push', rootDev['web-push'])],
  },
  {
    name: 'transport-apns',
    ours: {
      label: '@idrelay/transport-apns',
      tarballs: ['core', 'transport-apns'],
      imports: ['@idrelay/transport-apns'],
    },
    peers: [peer('@parse/node-apn', rootDev['@parse/node-apn']), peer('apns2', rootDev.apns2)],
  },
  {
    name: 'transport-fcm',
    ours: { label: '@idrelay/transport-fcm', tarballs: ['core', 'transport-fcm'], imports: ['@idrelay/transport-fcm'] },
    peers: [
      peer('firebase-admin', fcmPeers?.['firebase-admin'] ?? fcmDeps['firebase-admin'], [
        'firebase-admin/app',
        'firebase-admin/messaging',
      ]),
    ],
  },
];

const work = mkdtempSync(join(tmpdir(), 'idrelay-footprint-'));
try {
  const packages = [...new Set(cases.flatMap((c) => c.ours.tarballs ?? []))];
  const tarballs = new Map<string, string>();
  for (const pkg of packages) {
    const dir = join(root, 'packages', pkg);
    if (build) run('npx', [...PNPM, 'run', 'build'], dir);
    const before = new Set(readdirSync(work));
    run('npx', [...PNPM, 'pack', '--pack-destination', work], dir);
    const tarball = readdirSync(work).find((f) => f.endsWith('.tgz') && !before.has(f));
    if (tarball === undefined) throw new Error(`pnpm pack produced no tarball for ${pkg}`);
    tarballs.set(pkg, join(work, tarball));
  }

  const report = createReport('footprint');
  const measured = new Map<string, { bytes: number; packages: number; cpuMs: number }>();
  const measure = (install: Install) => {
    let figures = measured.get(install.label);
    if (figures === undefined) {
      const project = join(work, `project-${measured.size}`);
      mkdirSync(project);
      writeFileSync(
        join(project, 'package.json'),
        JSON.stringify({ name: 'footprint', private: true, type: 'module' }),
      );
      const what = install.spec === undefined ? (install.tarballs ?? []).map((t) => tarballs.get(t)!) : [install.spec];
      run(
        'npx',
        [
          ...PNPM,
          'add',
          ...what,
          '--offline',
          '--config.node-linker=hoisted',
          '--config.package-import-method=copy',
          '--config.strict-dep-builds=false',
        ],
        project,
      );
      const { bytes, packages: count } = sizeOf(join(project, 'node_modules'));
      figures = { bytes, packages: count, cpuMs: importCpu(project, install.imports) };
      measured.set(install.label, figures);
      console.log(
        `${install.label}: ${round(bytes / 1e6, 2)} MB in ${count} packages, import ${round(figures.cpuMs, 1)} ms CPU`,
      );
    }
    return figures;
  };

  for (const c of cases) {
    const ours = measure(c.ours);
    const note = `${ours.packages} packages installed; import of ${c.ours.imports.join(', ')}`;
    if (c.peers.length === 0) {
      report.add({ case: c.name, metric: 'install size', value: round(ours.bytes / 1e6, 3), unit: 'MB', note });
      report.add({
        case: c.name,
        metric: 'import cpu',
        value: round(ours.cpuMs, 1),
        unit: 'ms',
        peer: 'target',
        peer_value: CORE_IMPORT_TARGET_MS,
        ratio: round(ours.cpuMs / CORE_IMPORT_TARGET_MS, 2),
      });
    }
    for (const p of c.peers) {
      const theirs = measure(p);
      report.add({
        case: c.name,
        metric: 'install size',
        value: round(ours.bytes / 1e6, 3),
        unit: 'MB',
        peer: p.label,
        peer_value: round(theirs.bytes / 1e6, 3),
        ratio: round(ours.bytes / theirs.bytes, 2),
        note: `${note}; peer: ${theirs.packages} packages, import of ${p.imports.join(', ')}`,
      });
      report.add({
        case: c.name,
        metric: 'import cpu',
        value: round(ours.cpuMs, 1),
        unit: 'ms',
        peer: p.label,
        peer_value: round(theirs.cpuMs, 1),
        ratio: round(ours.cpuMs / theirs.cpuMs, 2),
      });
    }
  }
  report.add({
    case: 'method',
    metric: 'runs',
    value: runs,
    unit: 'processes',
    note: 'ratio = ours ÷ peer (below 1 is lighter); import cpu is the median over fresh processes',
  });
  report.write();
} finally {
  rmSync(work, { recursive: true, force: true });
}

function run(command: string, argv: string[], cwd: string): void {
  const result = spawnSync(command, argv, { cwd, encoding: 'utf8', env: cleanEnv() });
  if (result.status !== 0) {
    throw new Error(`${command} ${argv.join(' ')} failed in ${cwd}:\n${result.stdout}\n${result.stderr}`);
  }
}

/** Median CPU ms of importing `specifiers` in a fresh Node process started in `project`. */
function importCpu(project: string, specifiers: string[]): number {
  const script = `const t = process.cpuUsage();
for (const s of ${JSON.stringify(specifiers)}) await import(s);
const d = process.cpuUsage(t);
process.stdout.write(String((d.user + d.system) / 1000));`;
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: project,
      encoding: 'utf8',
      env: cleanEnv(),
    });
    samples.push(Number(out));
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)]!;
}

/** The environment without anything that would make one process faster than the next (a compile cache). */
function cleanEnv(): NodeJS.ProcessEnv {
  const { NODE_COMPILE_CACHE: _cache, NODE_OPTIONS: _options, ...env } = process.env;
  return env;
}

/** Bytes of the files under `node_modules` and the number of packages, pnpm's own bookkeeping left out. */
function sizeOf(modules: string): { bytes: number; packages: number } {
  let bytes = 0;
  let packages = 0;
  const walk = (dir: string, top: boolean) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (top && entry.name.startsWith('.')) continue;
      const path = join(dir, entry.name);
      if (entry.isSymbolicLink()) continue;
      if (entry.isDirectory()) {
        if (entry.name === 'node_modules') walk(path, true);
        else walk(path, false);
      } else if (entry.isFile()) {
        bytes += statSync(path).size;
        if (entry.name === 'package.json' && isPackageRoot(dir)) packages++;
      }
    }
  };
  walk(modules, true);
  return { bytes, packages };
}

/** True for `node_modules/<name>` and `node_modules/@scope/<name>`, not a package's inner package.json files. */
function isPackageRoot(dir: string): boolean {
  const parent = dirname(dir);
  const name = (p: string) => p.slice(p.lastIndexOf('/') + 1);
  return name(parent) === 'node_modules' || (name(parent).startsWith('@') && name(dirname(parent)) === 'node_modules');
}

function readJson(path: string): Record<string, unknown> {
  return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
}
