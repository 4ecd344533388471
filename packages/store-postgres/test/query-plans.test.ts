import { requirePostgres } from '@idrelay/testkit';
import type { PoolClient } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContext } from '../src/context.js';
import { answerStatements } from '../src/migrations/0007-answer-batch-function.js';
import { answerLookupStatement } from '../src/migrations/0008-generic-answer-plans.js';
import { claimStatement, ONE_PLAN } from '../src/outbox/claim.js';
import { nextDueStatement } from '../src/outbox/outbox.js';
import { settleStatement } from '../src/outbox/settle.js';
import { testSchemas } from './helpers.js';

const postgres = await requirePostgres();

/** A plan node of `EXPLAIN (FORMAT JSON)`. */
interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  'Rows Removed by Filter'?: number;
  Plans?: PlanNode[];
}

const nodes = (node: PlanNode): PlanNode[] => [node, ...(node.Plans ?? []).flatMap(nodes)];

/**
 * The statements the outbox runs per batch, planned as PostgreSQL plans them right after a large enqueue — a table
 * autovacuum has not analysed yet, the moment a fan-out is claimed. The good plans reach `deliveries` and `devices`
 * through indexes only; these checks pin them, and show why the claim and the settle still pin their plans with
 * `SET LOCAL` (`ONE_PLAN`): without it the planner reads the whole table per settle.
 */
describe.skipIf(!postgres.available)('PostgreSQL outbox query plans', () => {
  const schemas = testSchemas(postgres.url, 'plans');
  let schema: string;
  let client: PoolClient;
  let statements: { claim: string; settle: string; nextDue: string };
  const ROWS = 40_000;

  beforeAll(async () => {
    schema = schemas.next();
    await (await schemas.open({}, schema)).close();
    const context = createContext({ pool: schemas.admin, ownsPool: false, schema, name: schema, now: () => 0 });
    statements = {
      claim: claimStatement(context),
      settle: settleStatement(context),
      nextDue: nextDueStatement(context),
    };
    const s = `"${schema}"`;
    await schemas.admin.query(
      `INSERT INTO ${s}.devices (device_id, user_id, platform, address, created_at, updated_at)
       SELECT 'd-' || n, 'u-' || n, CASE WHEN n % 2 = 0 THEN 'apns' ELSE 'fcm' END, 't-' || n, 0, 0
       FROM generate_series(1, ${ROWS}) AS n`,
    );
    await schemas.admin.query(
      `INSERT INTO ${s}.notifications (notification_id, event_key, rule_id, created_at) VALUES ('n', '/e#1', 'r', 0)`,
    );
    await schemas.admin.query(
      `INSERT INTO ${s}.messages (notification_ref, variant, body, created_at) VALUES (1, '', '{"id":"n"}', 0)`,
    );
    // Due bulk rows, and a deferred backlog at a higher priority (quiet hours) that no claim may have to read.
    await schemas.admin.query(
      `INSERT INTO ${s}.deliveries (due_at, ready_at, created_at, updated_at, notification_ref, device_ref,
         message_ref, priority, attempts, status, platform)
       SELECT due, due, 0, 0, 1, v.id, 1, CASE WHEN v.id % 4 = 0 THEN 10 ELSE 0 END, 0, 'pending', v.platform
       FROM ${s}.devices v, LATERAL (SELECT CASE WHEN v.id % 4 = 0 THEN 1000000 ELSE 5 END AS due) AS t`,
    );
    client = await schemas.admin.connect();
  });
  afterAll(async () => {
    client?.release();
    await schemas.dropAll();
  });

  /** The executed plan of `sql` inside a transaction that is rolled back, with `setup` applied first. */
  const explain = async (sql: string, values: unknown[], setup?: string): Promise<PlanNode[]> => {
    await client.query(setup === undefined ? 'BEGIN' : `BEGIN; ${setup}`);
    try {
      const { rows } = await client.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${sql}`, values);
      return nodes((rows[0]['QUERY PLAN'] as [{ Plan: PlanNode }])[0].Plan);
    } finally {
      await client.query('ROLLBACK');
    }
  };
  /** The nodes that read `relation` (the UPDATE itself names it too, but reads nothing). */
  const scans = (plan: PlanNode[], relation: string) =>
    plan.filter((n) => n['Relation Name'] === relation && n['Node Type'] !== 'ModifyTable');
  const claimValues = ['{fcm}', 5, 60_000, 1_000, -2_147_483_648];

  it('the table is as a fan-out leaves it: filled and never analysed', async () => {
    const { rows } = await schemas.admin.query(
      `SELECT last_analyze, last_autoanalyze FROM pg_stat_user_tables WHERE schemaname = $1 AND relname = 'deliveries'`,
      [schema],
    );
    expect(rows).toEqual([{ last_analyze: null, last_autoanalyze: null }]);
  });

  it('claims through deliveries_ready and primary keys only, reading no row of the deferred backlog', async () => {
    const plan = await explain(statements.claim, claimValues, ONE_PLAN);
    for (const scan of [...scans(plan, 'deliveries'), ...scans(plan, 'devices')]) {
      expect(scan['Node Type'], JSON.stringify(scan)).toMatch(/^Index (Only )?Scan$/);
      expect(scan['Rows Removed by Filter'] ?? 0).toBe(0);
    }
    // The due rows come straight from the index in claim order: 1,000 read for 1,000 claimed.
    const due = scans(plan, 'deliveries').filter(
      (n) => n['Node Type'] === 'Index Scan' && n['Index Name'] === 'deliveries_ready',
    );
    expect(due.reduce((sum, n) => sum + (n['Actual Rows'] ?? 0) * (n['Actual Loops'] ?? 1), 0)).toBe(1_000);
    expect(plan[0]!['Actual Rows']).toBe(1_000);
    expect(plan.some((n) => n['Node Type'] === 'Hash Join' || n['Node Type'] === 'Merge Join')).toBe(false);
  });

  it('settles a batch through the primary key, and needs ONE_PLAN for it on an unanalysed table', async () => {
    const { rows } = await schemas.admin.query(
      `SELECT id FROM "${schema}".deliveries WHERE platform = 'apns' AND priority = 0 ORDER BY id LIMIT 1000`,
    );
    const ids = `{${rows.map((row) => row.id).join(',')}}`;
    const n = rows.length;
    const values = [
      ids,
      `{${Array(n).fill(0).join(',')}}`,
      `{${Array(n).fill('delivered').join(',')}}`,
      `{${Array(n).fill('NULL').join(',')}}`,
      `{${Array(n).fill('NULL').join(',')}}`,
      `{${Array(n).fill('NULL').join(',')}}`,
      `{${Array(n).fill('NULL').join(',')}}`,
      `{${Array(n).fill(7).join(',')}}`,
    ];
    const pinned = await explain(statements.settle, values, ONE_PLAN);
    expect(scans(pinned, 'deliveries').map((node) => node['Node Type'])).toEqual(['Index Scan']);
    expect(scans(pinned, 'deliveries')[0]!['Index Name']).toBe('deliveries_pkey');
    // Left to itself, the planner takes the row estimates of a table it never analysed and scans it whole.
    const free = await explain(statements.settle, values);
    expect(scans(free, 'deliveries').map((node) => node['Node Type'])).toContain('Seq Scan');
  });

  it('finds the next wake-up time with a few index probes, however many rows are live', async () => {
    const plan = await explain(statements.nextDue, []);
    for (const scan of scans(plan, 'deliveries')) {
      expect(scan['Node Type']).toMatch(/^Index (Only )?Scan$/);
      expect(scan['Actual Rows']).toBeLessThanOrEqual(1);
    }
  });
});

/**
 * The statements every device answer runs, planned right after a burst of enrolments and pushes (tables filled and
 * never analysed, or analysed at the wrong moment). Each must reach its rows by key: the lookup through LATERAL
 * probes (it used to hash all 10,000 devices per batch), the writes with ONE_PLAN and no partial index on the
 * liveness condition (migration 6: before it, a batch of 20 consumes scanned up to 10,000 entries of the partial
 * index `action_tokens_device`, rated at one row, even with ONE_PLAN).
 */
describe.skipIf(!postgres.available)('PostgreSQL response query plans', () => {
  const schemas = testSchemas(postgres.url, 'plans');
  let client: PoolClient;
  let s: string;
  const ROWS = 10_000;
  const BATCH = 32;
  const hashes = Array.from({ length: BATCH }, (_, i) => `h-${i * 97 + 5}`);

  beforeAll(async () => {
    const schema = schemas.next();
    await (await schemas.open({}, schema)).close();
    s = `"${schema}"`;
    await schemas.admin.query(
      `INSERT INTO ${s}.devices (device_id, user_id, platform, address, created_at, updated_at)
       SELECT 'd-' || n, 'u-' || n, 'fcm', 't-' || n, 0, 0 FROM generate_series(0, ${ROWS - 1}) AS n`,
    );
    await schemas.admin.query(
      `INSERT INTO ${s}.flows (id, kind, key, definition_version, state, data, transitions, version, created_at,
         updated_at)
       SELECT 'v-' || n, 'login-verification', 'v-' || n, 1, 'pending', '{}', 0, 1, 0, 0
       FROM generate_series(0, ${ROWS - 1}) AS n`,
    );
    await schemas.admin.query(
      `INSERT INTO ${s}.action_tokens (token_hash, notification_id, user_id, device_id, actions, flow_id,
         expires_at, created_at)
       SELECT 'h-' || n, 'n-' || n, 'u-' || n, 'd-' || n, '["approve"]', 'v-' || n, 9000000000000, 0
       FROM generate_series(0, ${ROWS - 1}) AS n`,
    );
    client = await schemas.admin.connect();
  });
  afterAll(async () => {
    client?.release();
    await schemas.dropAll();
  });

  /** Every read of the three tables in the executed plan of `sql` (rolled back), with `setup` applied first. */
  const reads = async (sql: string, values: unknown[], setup?: string) => {
    await client.query(setup === undefined ? 'BEGIN' : `BEGIN; ${setup}`);
    try {
      const { rows } = await client.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${sql}`, values);
      const plan = nodes((rows[0]['QUERY PLAN'] as [{ Plan: PlanNode }])[0].Plan);
      return plan.filter(
        (n) =>
          ['action_tokens', 'devices', 'flows'].includes(n['Relation Name'] ?? '') && n['Node Type'] !== 'ModifyTable',
      );
    } finally {
      await client.query('ROLLBACK');
    }
  };
  const rowsRead = (scan: PlanNode) =>
    ((scan['Actual Rows'] ?? 0) + (scan['Rows Removed by Filter'] ?? 0)) * (scan['Actual Loops'] ?? 1);

  it('the tables are as a burst leaves them: filled and never analysed', async () => {
    const { rows } = await schemas.admin.query(
      `SELECT relname FROM pg_stat_user_tables WHERE schemaname = $1 AND relname IN ('action_tokens', 'devices', 'flows')
         AND last_analyze IS NULL AND last_autoanalyze IS NULL`,
      [s.slice(1, -1)],
    );
    expect(rows.map((row) => row.relname).sort()).toEqual(['action_tokens', 'devices', 'flows']);
  });

  it('looks a batch of answers up by primary keys, reading one row of each table per answer', async () => {
    const plan = await reads(answerLookupStatement(s), [
      hashes,
      hashes.map((h) => `d-${h.slice(2)}`),
      hashes.map(() => 'login-verification-limit'),
    ]);
    for (const scan of plan) {
      expect(scan['Index Name'], JSON.stringify(scan)).toMatch(/_pkey$|^devices_device_id_key$|^flows_kind_key_key$/);
      expect(rowsRead(scan), JSON.stringify(scan)).toBeLessThanOrEqual(BATCH);
    }
    expect(new Set(plan.map((scan) => scan['Relation Name']))).toEqual(new Set(['action_tokens', 'devices', 'flows']));
  });

  // The writes run in a transaction with ONE_PLAN: their liveness filter (`used_at IS NULL AND revoked_at IS NULL`)
  // is rated anywhere from every row to almost none depending on when autovacuum last analysed the table, and rated
  // near none, a whole-table scan looks cheaper than the key probes. Checked on the table never analysed, analysed
  // with every token live, and analysed with almost every token used.
  const states = [
    ['never analysed', async () => {}],
    ['analysed with every token live', async () => schemas.admin.query(`ANALYZE ${s}.action_tokens`)],
    [
      'analysed with almost every token used',
      async () => {
        await schemas.admin.query(`UPDATE ${s}.action_tokens SET used_at = 1 WHERE token_hash NOT LIKE 'h-%5'`);
        await schemas.admin.query(`ANALYZE ${s}.action_tokens`);
      },
    ],
  ] as const;

  /** The two statements of an answer batch, with the values of `BATCH` answers. */
  const batchStatements = () => ({
    consume: answerStatements(s).consume,
    consumeValues: [
      hashes,
      hashes.map(() => 1),
      hashes.map((h) => `v-${h.slice(2)}`),
      hashes.map(() => 'approved'),
      hashes.map(() => null),
      hashes.map(() => null),
      hashes.map(() => 1),
      hashes.map(() => 1),
    ],
    settle: answerStatements(s).settle,
    settleValues: [hashes.map((h) => `n-${h.slice(2)}`), hashes.map(() => 1), hashes.map((h) => `expire-${h}`)],
  });
  const KEY_PROBES = ['action_tokens:action_tokens_notification', 'action_tokens:action_tokens_pkey'];
  /** Index names read per table, and rows read in all, of a batch statement's plan. */
  const probes = (plan: PlanNode[]) => ({
    indexes: [
      ...new Set(plan.map((scan) => `${scan['Relation Name']}:${scan['Index Name'] ?? scan['Node Type']}`)),
    ].sort(),
    rows: plan.reduce((sum, scan) => sum + rowsRead(scan), 0),
  });

  it('consumes, moves and revokes a batch of answers by key probes, whatever the statistics', async () => {
    for (const [state, arrange] of states) {
      await arrange();
      const sql = batchStatements();
      const consume = probes(await reads(sql.consume, sql.consumeValues, ONE_PLAN));
      expect(consume.indexes, state).toEqual(['action_tokens:action_tokens_pkey', 'flows:flows_pkey']);
      expect(consume.rows, state).toBeLessThanOrEqual(2 * BATCH);
      const settle = probes(await reads(sql.settle, sql.settleValues, ONE_PLAN));
      // Siblings found through the notification index; the UPDATE reaches them by it or by primary key.
      expect(settle.indexes, state).toContain('action_tokens:action_tokens_notification');
      expect(KEY_PROBES, state).toEqual(expect.arrayContaining(settle.indexes));
      expect(settle.rows, state).toBeLessThanOrEqual(2 * BATCH);
    }
  });

  it('runs those statements in apply_answers with the same plan settings pinned, and both functions generic', async () => {
    // The statements above are the function's own (frozen with migration 7); its SET clauses pin their plans as
    // ONE_PLAN does in a transaction, and since migration 8 with their generic plans (checked below), as
    // lookup_answers runs the lookup.
    const { rows } = await schemas.admin.query(
      `SELECT proname, proconfig FROM pg_proc WHERE proname IN ('apply_answers', 'lookup_answers')
         AND pronamespace = $1::regnamespace ORDER BY proname`,
      [s],
    );
    const config = (row: { proconfig: string[] }) => row.proconfig.map((c) => c.replace(/\s+/g, '')).sort();
    const settings = ONE_PLAN.split(';').map((part) => part.replace(/^\s*SET LOCAL\s+/, '').replace(/\s+/g, ''));
    expect(rows.map((row) => row.proname)).toEqual(['apply_answers', 'lookup_answers']);
    expect(config(rows[0])).toEqual([...settings, 'plan_cache_mode=force_generic_plan'].sort());
    expect(config(rows[1])).toEqual(['plan_cache_mode=force_generic_plan']);
  });

  it('keeps the key probes in the generic plans PostgreSQL may adopt for the prepared statements', async () => {
    // The hot statements run as prepared statements; after five executions PostgreSQL may switch to a generic plan,
    // made without the values. Forced here, on the table as the previous test left it (almost every token used).
    const generic = async (statement: string, values: unknown[], setup = '') => {
      await client.query(`BEGIN; SET LOCAL plan_cache_mode = force_generic_plan; ${setup}`);
      try {
        await client.query(`PREPARE probe AS ${statement}`);
        const { rows } = await client.query(
          `EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE probe(${values.map((v) => `'${JSON.stringify(v).replace(/^\[/, '{').replace(/\]$/, '}')}'`).join(', ')})`,
        );
        const plan = nodes((rows[0]['QUERY PLAN'] as [{ Plan: PlanNode }])[0].Plan);
        return plan.filter(
          (n) =>
            ['action_tokens', 'devices', 'flows'].includes(n['Relation Name'] ?? '') &&
            n['Node Type'] !== 'ModifyTable',
        );
      } finally {
        await client.query('ROLLBACK');
        await client.query('DEALLOCATE ALL');
      }
    };
    const lookup = await generic(answerLookupStatement(s), [
      hashes,
      hashes.map((h) => `d-${h.slice(2)}`),
      hashes.map(() => 'login-verification-limit'),
    ]);
    for (const scan of lookup)
      expect(scan['Index Name'], JSON.stringify(scan)).toMatch(/_pkey$|^devices_device_id_key$|^flows_kind_key_key$/);
    const sql = batchStatements();
    const consume = probes(await generic(sql.consume, sql.consumeValues, ONE_PLAN));
    expect(consume.indexes).toEqual(['action_tokens:action_tokens_pkey', 'flows:flows_pkey']);
    const settle = probes(await generic(sql.settle, sql.settleValues, ONE_PLAN));
    expect(settle.indexes).toContain('action_tokens:action_tokens_notification');
    expect(KEY_PROBES).toEqual(expect.arrayContaining(settle.indexes));
  });
});
