import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../net/free-port.js';
import { createTestCertificate } from '../tls/self-signed.js';
import { IDRELAY_SCHEMA } from './schema.js';
import { defaultSeedLdif } from './seed.js';

const SBIN = ['/usr/sbin', '/usr/local/sbin', '/usr/local/libexec', '/usr/libexec'];
const MODULE_DIRS = ['/usr/lib/ldap', '/usr/lib64/openldap', '/usr/lib/openldap', '/usr/local/libexec/openldap'];
const SCHEMA_DIRS = ['/etc/ldap/schema', '/etc/openldap/schema', '/usr/local/etc/openldap/schema'];

/** Where the harness found OpenLDAP, or why it did not. */
export interface SlapdAvailability {
  available: boolean;
  /** Why it is unavailable (install hint included). */
  reason?: string;
  slapd?: string;
  slapadd?: string;
  moduleDir?: string;
  schemaDir?: string;
}

function firstExisting(dirs: readonly string[], file: string): string | undefined {
  return dirs.map((dir) => join(dir, file)).find((path) => existsSync(path));
}

/**
 * Looks for the OpenLDAP server binaries (Debian `slapd`). Locally a missing server makes LDAP tests skip with
 * the returned `reason`; under `CI=true` (or `1`) it throws, because CI must fail rather than pass silently.
 * `scripts/ensure-services.sh` installs the Debian packages.
 *
 * @example
 * ```ts
 * const ldap = slapdAvailability();
 * describe.skipIf(!ldap.available)('against slapd', () => { … });
 * ```
 */
export function slapdAvailability(env: Readonly<Record<string, string | undefined>> = process.env): SlapdAvailability {
  const slapd = firstExisting(SBIN, 'slapd');
  const slapadd = firstExisting(SBIN, 'slapadd');
  const moduleDir = MODULE_DIRS.find((dir) => existsSync(join(dir, 'accesslog.so')));
  const schemaDir = SCHEMA_DIRS.find((dir) => existsSync(join(dir, 'inetorgperson.schema')));
  const missing = [
    slapd ? undefined : 'slapd',
    slapadd ? undefined : 'slapadd',
    moduleDir ? undefined : 'the accesslog module',
    schemaDir ? undefined : 'the inetorgperson schema',
  ].filter((x): x is string => x !== undefined);
  if (missing.length === 0) return { available: true, slapd, slapadd, moduleDir, schemaDir };
  const reason = `OpenLDAP is not installed (${missing.join(', ')} missing): run scripts/ensure-services.sh or apt-get install slapd ldap-utils`;
  if (env.CI === 'true' || env.CI === '1') throw new Error(`${reason}; CI needs it`);
  return { available: false, reason };
}

/** Options of {@link startSlapd}. */
export interface StartSlapdOptions {
  /** `'default'` (the generated directory of `seed.ts`), `'none'` (base containers only) or an LDIF string. */
  seed?: 'default' | 'none' | string;
  /** People in the default seed. Default 1,000. */
  users?: number;
  /** Default `dc=example,dc=test`. */
  baseDN?: string;
  /** Also listen on `ldaps://` and allow StartTLS, with a fresh self-signed certificate. Default false. */
  tls?: boolean;
  /** The seed's "now" (for `pwdChangedTime`). */
  now?: Date;
  /** Extra lines appended to the main database's configuration (indexes, limits). */
  extraConfig?: string;
  /**
   * Overlays beyond `ppolicy` and `accesslog`: `memberof` (direct `memberOf` on people, maintained for changes
   * made over LDAP; the slapadd-loaded seed has none), `refint` (removes a deleted entry's DN from `member` and
   * `manager`), `dynlist` (nested `memberOf` computed at read time, seed included; slow on large trees).
   */
  overlays?: readonly ('memberof' | 'refint' | 'dynlist')[];
}

const OVERLAY_CONFIG: Record<'memberof' | 'refint' | 'dynlist', string[]> = {
  memberof: [
    'overlay memberof',
    'memberof-group-oc groupOfNames',
    'memberof-member-ad member',
    'memberof-memberof-ad memberOf',
  ],
  refint: ['overlay refint', 'refint_attributes member manager'],
  dynlist: ['overlay dynlist', 'dynlist-attrset groupOfURLs memberURL member+memberOf@groupOfNames*'],
};

/** A running slapd. */
export interface Slapd {
  /** `ldap://127.0.0.1:<port>`. */
  url: string;
  /** `ldaps://localhost:<port>` when started with `tls`. */
  ldapsUrl?: string;
  /** PEM certificate the server presents (trust it as `ca`) when started with `tls`. */
  ca?: string;
  bindDN: string;
  password: string;
  baseDN: string;
  peopleDN: string;
  groupsDN: string;
  /** The default password policy entry. */
  policyDN: string;
  /** Suffix of the accesslog database. */
  accesslogDN: string;
  /** The temporary directory holding configuration and data. */
  dir: string;
  /** Stops the server and deletes its directory. */
  stop(): Promise<void>;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function config(options: {
  dir: string;
  baseDN: string;
  password: string;
  moduleDir: string;
  schemaDir: string;
  tls: boolean;
  extra: string;
  overlays: readonly ('memberof' | 'refint' | 'dynlist')[];
}): string {
  const { dir, baseDN } = options;
  const rootDN = `cn=admin,${baseDN}`;
  const schema = ['core', 'cosine', 'inetorgperson', 'nis', 'dyngroup'].map(
    (s) => `include ${join(options.schemaDir, `${s}.schema`)}`,
  );
  return [
    ...schema,
    `include ${join(dir, 'idrelay.schema')}`,
    `modulepath ${options.moduleDir}`,
    'moduleload back_mdb',
    'moduleload accesslog',
    'moduleload ppolicy',
    ...options.overlays.map((overlay) => `moduleload ${overlay}`),
    `pidfile ${join(dir, 'slapd.pid')}`,
    `argsfile ${join(dir, 'slapd.args')}`,
    'sizelimit unlimited',
    ...(options.tls
      ? [`TLSCertificateFile ${join(dir, 'cert.pem')}`, `TLSCertificateKeyFile ${join(dir, 'key.pem')}`]
      : []),
    '',
    // The change log: every successful write, with old values of people (so a delete still names its uid).
    'database mdb',
    'suffix "cn=accesslog"',
    `directory ${join(dir, 'accesslog')}`,
    `rootdn "${rootDN}"`,
    'maxsize 1073741824',
    'index reqStart eq',
    'index objectClass eq',
    'limits * size=unlimited time=unlimited',
    '',
    'database mdb',
    `suffix "${baseDN}"`,
    `rootdn "${rootDN}"`,
    `rootpw ${options.password}`,
    `directory ${join(dir, 'data')}`,
    'maxsize 4294967296',
    'dbnosync',
    'index objectClass eq',
    'index uid,mail,cn,departmentNumber,l,title,businessCategory,employeeType,idrelaySubject eq',
    'index telephoneNumber eq',
    'index member,manager eq',
    'index pwdAccountLockedTime,pwdChangedTime eq',
    'index entryUUID,entryCSN eq',
    'limits * size=unlimited time=unlimited',
    'access to attrs=userPassword by self write by anonymous auth by * none',
    'access to * by users read by * none',
    options.extra,
    ...options.overlays.flatMap((overlay) => OVERLAY_CONFIG[overlay]),
    'overlay ppolicy',
    `ppolicy_default "cn=default,ou=policies,${baseDN}"`,
    'ppolicy_use_lockout',
    'overlay accesslog',
    'logdb "cn=accesslog"',
    'logops writes',
    'logsuccess TRUE',
    'logold (objectClass=inetOrgPerson)',
    'logoldattr uid entryUUID mail',
    'logpurge 07+00:00 01+00:00',
    '',
  ].join('\n');
}

/**
 * Starts a real OpenLDAP `slapd` on a free loopback port, in a temporary directory with a generated `slapd.conf`:
 * an mdb database under `baseDN`, the `accesslog` overlay (writes, with old values of people, so deletes are
 * seen), `ppolicy` with a default policy, and a second mdb database `cn=accesslog`. The seed is loaded with
 * `slapadd` before the server starts (so it is not in the change log). Share one server per test file.
 *
 * @throws Error when OpenLDAP is missing (check {@link slapdAvailability} first) or the server does not start.
 * @example
 * ```ts
 * const slapd = await startSlapd({ seed: 'default' });
 * const client = new Client({ url: slapd.url });
 * await client.bind(slapd.bindDN, slapd.password);
 * await slapd.stop();
 * ```
 */
export async function startSlapd(options: StartSlapdOptions = {}): Promise<Slapd> {
  const found = slapdAvailability();
  if (!found.available) throw new Error(found.reason);
  const baseDN = options.baseDN ?? 'dc=example,dc=test';
  const password = `pw-${Math.random().toString(36).slice(2)}`;
  const dir = await mkdtemp(join(tmpdir(), 'idrelay-slapd-'));
  await mkdir(join(dir, 'data'));
  await mkdir(join(dir, 'accesslog'));
  await writeFile(join(dir, 'idrelay.schema'), IDRELAY_SCHEMA);
  const tls = options.tls === true;
  let ca: string | undefined;
  if (tls) {
    const certificate = createTestCertificate();
    ca = certificate.cert;
    await writeFile(join(dir, 'cert.pem'), certificate.cert);
    await writeFile(join(dir, 'key.pem'), certificate.key, { mode: 0o600 });
  }
  const conf = join(dir, 'slapd.conf');
  await writeFile(
    conf,
    config({
      dir,
      baseDN,
      password,
      moduleDir: found.moduleDir!,
      schemaDir: found.schemaDir!,
      tls,
      extra: options.extraConfig ?? '',
      overlays: [...new Set(options.overlays ?? [])],
    }),
  );
  const seed =
    options.seed === undefined || options.seed === 'default'
      ? defaultSeedLdif({ baseDN, users: options.users ?? 1000, ...(options.now ? { now: options.now } : {}) })
      : options.seed === 'none'
        ? defaultSeedLdif({ baseDN, users: 0 })
        : options.seed;
  const seedFile = join(dir, 'seed.ldif');
  await writeFile(seedFile, seed);
  const add = spawnSync(found.slapadd!, ['-q', '-f', conf, '-b', baseDN, '-l', seedFile], { encoding: 'utf8' });
  if (add.status !== 0) {
    await rm(dir, { recursive: true, force: true });
    throw new Error(`slapadd failed (${add.status}): ${add.stderr || add.stdout}`);
  }
  const port = await freePort();
  const tlsPort = tls ? await freePort() : undefined;
  const urls = [`ldap://127.0.0.1:${port}/`, ...(tlsPort ? [`ldaps://127.0.0.1:${tlsPort}/`] : [])];
  const child: ChildProcess = spawn(found.slapd!, ['-f', conf, '-h', urls.join(' '), '-d', '0'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  // A test process that dies without calling stop() must not leave a slapd behind.
  const killOnExit = () => {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', killOnExit);
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      process.off('exit', killOnExit);
      resolve();
    }),
  );
  let running = true;
  void exited.then(() => {
    running = false;
  });
  const deadline = Date.now() + 15_000;
  while (!(await accepts(port)) || (tlsPort !== undefined && !(await accepts(tlsPort)))) {
    if (!running || Date.now() > deadline) {
      child.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
      throw new Error(`slapd did not start on port ${port}: ${stderr.trim() || 'no output'}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  let stopped: Promise<void> | undefined;
  return {
    url: `ldap://127.0.0.1:${port}`,
    ...(tlsPort ? { ldapsUrl: `ldaps://localhost:${tlsPort}` } : {}),
    ...(ca ? { ca } : {}),
    bindDN: `cn=admin,${baseDN}`,
    password,
    baseDN,
    peopleDN: `ou=people,${baseDN}`,
    groupsDN: `ou=groups,${baseDN}`,
    policyDN: `cn=default,ou=policies,${baseDN}`,
    accesslogDN: 'cn=accesslog',
    dir,
    stop() {
      stopped ??= (async () => {
        if (running) {
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
          await exited;
          clearTimeout(timer);
        }
        await rm(dir, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
}
