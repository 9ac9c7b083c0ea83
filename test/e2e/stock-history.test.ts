/**
 * Stock at any past moment (InventoryLevel.snapshot) and stockMovementsSummary, over HTTP:
 *  - exactness: a seeded random sequence of adjustments, sets, settings, reservations, commits and
 *    releases, with the live state captured between them; the snapshot at each captured moment
 *    equals what was live then (also across lazy expiry);
 *  - summaries equal the sums computed here from the ledger rows, before and after the checkpoint
 *    job ran, for every grouping and filter, with ranges not aligned to hours;
 *  - errors (future, before the level existed, bad ranges) and access (publishable keys, scopes);
 *  - statement counts: one statement for the snapshots of any number of levels, one per summary.
 */
import { createProduct, createTestStore, createWarehouse, uniq } from '../helpers/factories';
import { makeClient, ok, type GqlClient } from '../helpers/gql';
import { eventually, pastInDatabase } from '../helpers/poll';
import { withSeed } from '../helpers/rng';
import { startTestServer, type TestServer } from '../helpers/server';
import { usingPostgres } from '../helpers/db';
import { createInventoryClient, InventoryLevelSnapshotsDocument } from '../../clients/typescript/src';
import { tuningEnv } from '../../src/config/tuning';
import { resetCheckpoints, rollupOnce } from '../../src/modules/inventory';
import { movementSummary, summaryStatement } from '../../src/modules/inventory/history.reads';
import { poolTx } from '../../src/db/tx';

jest.setTimeout(180_000);

let t: TestServer;
const ERR = 'userErrors { code message }';
const LIVE = 'id onHand reserved incoming available status';
const SNAP = 'onHand reserved incoming available status';

beforeAll(async () => {
  // No sweeper (expiry stays lazy, so the snapshot's expiry rule is exercised), no polls, no rate
  // limiting (statement counts are the queries' own); the rollup job runs only when a test calls it.
  t = await startTestServer({
    INVENTORY_TUNING: tuningEnv({
      SWEEP_INTERVAL_MS: 3_600_000,
      EVENTS_POLL_MS: 60_000,
      WEBHOOK_POLL_MS: 60_000,
      LEDGER_ROLLUP_INTERVAL_MS: 86_400_000,
      LEDGER_ROLLUP_LAG_MS: 0,
      LEDGER_ROLLUP_WINDOW_MS: 30 * 86_400_000,
    }),
    RATE_LIMIT_BUCKET_SIZE: '0',
  });
});
afterAll(() => t?.stop());

/** Until the clock is 2 ms further: a moment captured now is strictly between two changes' timestamps. */
async function tick(): Promise<void> {
  const t0 = Date.now();
  await eventually('the clock to move on', () => Date.now() >= t0 + 2, 2000, 1);
}

async function run(gql: GqlClient, mutation: string, field: string, input: Record<string, unknown>) {
  const d = await ok(gql(mutation, { input }));
  return d[field] as { userErrors: { code: string }[]; reservation?: { id: string; lines: { id: string; quantity: number }[] } };
}

const M = {
  set: `mutation($input: InventorySetInput!) { inventorySet(input: $input) { ${ERR} } }`,
  adjust: `mutation($input: InventoryAdjustInput!) { inventoryAdjust(input: $input) { ${ERR} } }`,
  update: `mutation($input: InventoryLevelUpdateInput!) { inventoryLevelUpdate(input: $input) { ${ERR} } }`,
  reserve: `mutation($input: InventoryReserveInput!) { inventoryReserve(input: $input) { reservation { id expiresAt lines { id quantity } } ${ERR} } }`,
  release: `mutation($input: ReservationSettleInput!) { reservationRelease(input: $input) { ${ERR} } }`,
  commit: `mutation($input: ReservationSettleInput!) { reservationCommit(input: $input) { ${ERR} } }`,
};

const levelsQuery = (fields: string) =>
  `query($skus: [String!], $at: DateTimeISO!) { inventoryLevels(first: 50, filter: { skus: $skus }) { nodes { ${fields} } } }`;

async function live(skus: string[]): Promise<Record<string, unknown>[]> {
  const d = await ok(
    t.gql(`query($skus: [String!]) { inventoryLevels(first: 50, filter: { skus: $skus }) { nodes { ${LIVE} } } }`, { skus }),
  );
  return d.inventoryLevels.nodes;
}

async function snapshotsAt(skus: string[], at: string, gql = t.gql) {
  const d = await ok(gql(levelsQuery(`id snapshot(at: $at) { ${SNAP} }`), { skus, at }));
  return d.inventoryLevels.nodes as { id: string; snapshot: Record<string, unknown> }[];
}

/** The live state as a snapshot must show it: { id: { onHand, reserved, incoming, available, status } }. */
const byId = (nodes: Record<string, unknown>[]) =>
  Object.fromEntries(nodes.map(({ id, ...rest }) => [id as string, rest as Record<string, unknown>]));

describe('snapshot: exact at every captured moment', () => {
  test('a seeded random sequence of stock operations, the live state captured between them', async () => {
    await withSeed(async (rand) => {
      const wh = await createWarehouse(t.gql);
      const { skus } = await createProduct(t.gql, { skus: [uniq('HS'), uniq('HS')] });
      const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)];
      const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
      for (const sku of skus)
        await run(t.gql, M.set, 'inventorySet', { sku, warehouseCode: wh.code, quantity: int(5, 20), reason: 'RECEIVED' });
      const held: { id: string; lines: { id: string; quantity: number }[] }[] = [];
      const moments: { at: string; state: Record<string, Record<string, unknown>> }[] = [];
      for (let step = 0; step < 40; step++) {
        const sku = pick(skus);
        const kind = pick(['adjust', 'adjust', 'set', 'update', 'reserve', 'reserve', 'settle', 'settle']);
        if (kind === 'adjust') {
          const delta = pick([-3, -2, -1, 1, 2, 4, 7]);
          await run(t.gql, M.adjust, 'inventoryAdjust', {
            sku,
            warehouseCode: wh.code,
            delta,
            reason: pick(['RECEIVED', 'DAMAGED', 'SALE']),
          });
        } else if (kind === 'set') {
          await run(t.gql, M.set, 'inventorySet', { sku, warehouseCode: wh.code, quantity: int(0, 25) });
        } else if (kind === 'update') {
          const input = { safetyStock: int(0, 3), lowStockThreshold: int(0, 9), criticalThreshold: int(0, 3), incoming: int(0, 12) };
          await run(t.gql, M.update, 'inventoryLevelUpdate', { sku, warehouseCode: wh.code, ...input });
        } else if (kind === 'reserve') {
          const r = await run(t.gql, M.reserve, 'inventoryReserve', {
            lines: [{ sku, warehouseCode: wh.code, quantity: int(1, 3) }],
            ttlSeconds: 3600,
          });
          if (r.reservation) held.push(r.reservation);
        } else if (held.length) {
          const r = held[Math.floor(rand() * held.length)];
          const line = r.lines[0];
          const partial = line.quantity > 1 && rand() < 0.5;
          const input = { reservationId: r.id, ...(partial ? { lines: [{ lineId: line.id, quantity: 1 }] } : {}) };
          if (rand() < 0.5) await run(t.gql, M.commit, 'reservationCommit', input);
          else await run(t.gql, M.release, 'reservationRelease', input);
          if (partial) line.quantity -= 1;
          else held.splice(held.indexOf(r), 1);
        }
        // The checkpoint job may run at any time: it never changes a snapshot.
        if (step === 20) await rollupOnce(t.gateway.app);
        await tick();
        const at = new Date().toISOString();
        moments.push({ at, state: byId(await live(skus)) });
        await tick();
      }
      expect(new Set(moments.map((m) => JSON.stringify(m.state))).size).toBeGreaterThan(5);
      for (const m of moments) {
        const snaps = await snapshotsAt(skus, m.at);
        expect({ at: m.at, state: Object.fromEntries(snaps.map((s) => [s.id, s.snapshot])) }).toEqual(m);
      }
    });
  });

  test('expired holds stop counting at their expiry, before and after the ledger records the EXPIRY', async () => {
    const wh = await createWarehouse(t.gql);
    const { skus } = await createProduct(t.gql);
    await run(t.gql, M.set, 'inventorySet', { sku: skus[0], warehouseCode: wh.code, quantity: 10, reason: 'RECEIVED' });
    const r = await ok(t.gql(M.reserve, { input: { lines: [{ sku: skus[0], warehouseCode: wh.code, quantity: 4 }], ttlSeconds: 1 } }));
    await tick();
    const held = { at: new Date().toISOString(), state: byId(await live(skus)) };
    expect(Object.values(held.state)[0]).toMatchObject({ reserved: 4, available: 6 });
    await pastInDatabase(t.gateway.app.db.pool, r.inventoryReserve.reservation.expiresAt);
    await tick();
    const expired = { at: new Date().toISOString(), state: byId(await live(skus)) };
    expect(Object.values(expired.state)[0]).toMatchObject({ reserved: 0, available: 10 });
    await tick();
    const check = async () => {
      for (const m of [held, expired])
        expect(byId((await snapshotsAt(skus, m.at)).map((s) => ({ id: s.id, ...s.snapshot })))).toEqual(m.state);
    };
    await check(); // the line is still ACTIVE (nothing swept it)
    // The next change expires it lazily: its EXPIRY row is recorded after `expired.at`.
    await run(t.gql, M.adjust, 'inventoryAdjust', { sku: skus[0], warehouseCode: wh.code, delta: 1, reason: 'RETURN' });
    const rows = await t.gateway.app.db.pool.query(
      `SELECT m.reason, m.created_at > $1::timestamptz AS later FROM stock_movements m
         JOIN inventory_levels l ON l.id = m.inventory_level_id JOIN variants v ON v.id = l.variant_id WHERE v.sku = $2 ORDER BY m.id`,
      [expired.at, skus[0]],
    );
    expect(rows.rows.map((x: { reason: string; later: boolean }) => `${x.reason}:${x.later}`)).toEqual([
      'RECEIVED:false',
      'RESERVATION:false',
      'EXPIRY:true',
      'RETURN:true',
    ]);
    await check();
  });
});

describe('snapshot: errors and access', () => {
  test('before the level existed, in the future, and who may read it', async () => {
    const wh = await createWarehouse(t.gql);
    const { skus } = await createProduct(t.gql);
    await tick();
    const before = new Date().toISOString();
    await tick();
    await run(t.gql, M.set, 'inventorySet', { sku: skus[0], warehouseCode: wh.code, quantity: 3, reason: 'RECEIVED' });
    const old = await t.gql(levelsQuery(`id snapshot(at: $at) { onHand }`), { skus, at: before });
    expect(old.body.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', argument: 'at', reason: 'BEFORE_LEVEL_EXISTED' });
    expect(old.body.data?.inventoryLevels.nodes[0].snapshot).toBeNull();
    const future = await t.gql(levelsQuery(`id snapshot(at: $at) { onHand }`), { skus, at: new Date(Date.now() + 60_000).toISOString() });
    expect(future.body.errors?.[0]).toMatchObject({ message: expect.stringContaining('future'), extensions: { code: 'BAD_USER_INPUT' } });
    const now = new Date().toISOString();
    expect((await snapshotsAt(skus, now))[0].snapshot).toMatchObject({ onHand: 3, available: 3 });

    // Private: publishable keys never see history; secret keys need inventory:read.
    const pk = makeClient(t.url, await t.store.publishableKey());
    const denied = await pk(levelsQuery(`id snapshot(at: $at) { onHand }`), { skus, at: now });
    expect(denied.body.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    expect(denied.body.data ?? null).toBeNull();
    const noScope = makeClient(t.url, await t.store.keyWith(['inventory:reserve']));
    expect((await noScope(levelsQuery(`id snapshot(at: $at) { onHand }`), { skus, at: now })).body.errors?.[0].extensions?.code).toBe(
      'FORBIDDEN',
    );
    const reader = makeClient(t.url, await t.store.keyWith(['inventory:read']));
    expect((await snapshotsAt(skus, now, reader))[0].snapshot).toMatchObject({ onHand: 3 });
    const summary = `query($f: StockMovementsSummaryFilter!) { stockMovementsSummary(filter: $f, groupBy: DAY) { buckets { reason } } }`;
    const f = { from: before };
    expect((await pk(summary, { f })).body.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    expect((await noScope(summary, { f })).body.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    expect((await ok(reader(summary, { f }))).stockMovementsSummary.buckets.length).toBeGreaterThan(0);
  });
});

type Unit = 'HOUR' | 'DAY' | 'WEEK';
interface LedgerRow {
  at: Date;
  reason: string;
  dOnHand: number;
  dReserved: number;
  dIncoming: number;
  variantId: string;
  warehouseId: string;
  productId: string;
}

/** The start of a UTC period (ISO weeks start on Monday). */
function periodStart(d: Date, unit: Unit): string {
  const x = new Date(d);
  x.setUTCMinutes(0, 0, 0);
  if (unit !== 'HOUR') x.setUTCHours(0);
  if (unit === 'WEEK') x.setUTCDate(x.getUTCDate() - ((x.getUTCDay() + 6) % 7));
  return x.toISOString();
}

/** What the summary must say, summed here from the ledger rows. */
function expected(rows: LedgerRow[], from: Date, to: Date, unit: Unit, keep: (r: LedgerRow) => boolean) {
  const out = new Map<
    string,
    { periodStart: string; reason: string; onHandChange: bigint; reservedChange: bigint; incomingChange: bigint; movements: bigint }
  >();
  for (const r of rows) {
    if (r.at < from || r.at >= to || !keep(r)) continue;
    const p = periodStart(r.at, unit);
    const k = `${p}|${r.reason}`;
    const b = out.get(k) ?? { periodStart: p, reason: r.reason, onHandChange: 0n, reservedChange: 0n, incomingChange: 0n, movements: 0n };
    b.onHandChange += BigInt(r.dOnHand);
    b.reservedChange += BigInt(r.dReserved);
    b.incomingChange += BigInt(r.dIncoming);
    b.movements += 1n;
    out.set(k, b);
  }
  return [...out.values()]
    .sort((a, b) => (a.periodStart === b.periodStart ? (a.reason < b.reason ? -1 : 1) : a.periodStart < b.periodStart ? -1 : 1))
    .map((b) => ({
      ...b,
      onHandChange: String(b.onHandChange),
      reservedChange: String(b.reservedChange),
      incomingChange: String(b.incomingChange),
      movements: String(b.movements),
    }));
}

const SUMMARY = `query($f: StockMovementsSummaryFilter!, $g: StockMovementsGroupBy!) { stockMovementsSummary(filter: $f, groupBy: $g) {
  from to groupBy buckets { periodStart reason onHandChange reservedChange incomingChange movements } } }`;

describe('stockMovementsSummary', () => {
  test('equals the sums of the ledger rows for every grouping and filter, before and after the checkpoints', async () => {
    await withSeed(async (rand) => {
      const store = await createTestStore(t.gateway.app);
      const gql = makeClient(t.url, store.adminKey);
      const pool = t.gateway.app.db.pool;
      const wa = await createWarehouse(gql);
      const wb = await createWarehouse(gql);
      const p1 = await createProduct(gql, { skus: [uniq('SM'), uniq('SM')] });
      const p2 = await createProduct(gql);
      const skus = [...p1.skus, ...p2.skus];
      for (const sku of skus)
        for (const wh of [wa, wb]) await run(gql, M.set, 'inventorySet', { sku, warehouseCode: wh.code, quantity: 50, reason: 'RECEIVED' });
      const levels = (
        await pool.query(
          `SELECT l.id, v.sku FROM inventory_levels l JOIN variants v ON v.id = l.variant_id WHERE l.store_id = $1 ORDER BY l.id`,
          [store.storeId],
        )
      ).rows as { id: string; sku: string }[];
      // Past movements (the last 20 days), written straight into the ledger: the API only writes "now".
      // The checkpoints never look back before their bound, so start them over (the documented
      // rebuild: empty the checkpoints, reset the bound) as a database with this history would be.
      await resetCheckpoints(t.gateway.app);
      const reasons = ['RECEIVED', 'SALE', 'DAMAGED', 'RESERVATION', 'COMMIT', 'OTHER'];
      const n = 401;
      const cols = {
        level: [] as string[],
        reason: [] as string[],
        d: [] as number[],
        r: [] as number[],
        inc: [] as number[],
        at: [] as string[],
      };
      for (let i = 0; i < n; i++) {
        cols.level.push(levels[Math.floor(rand() * levels.length)].id);
        cols.reason.push(reasons[Math.floor(rand() * reasons.length)]);
        cols.d.push(Math.floor(rand() * 21) - 10);
        cols.r.push(Math.floor(rand() * 7) - 3);
        cols.inc.push(Math.floor(rand() * 5));
        // The last one inside the narrow window below (20 minutes around 5 hours ago).
        const ago = i === n - 1 ? 5 * 3_600_000 - 60_000 : 3_600_000 + Math.floor(rand() * 20 * 86_400_000);
        cols.at.push(new Date(Date.now() - ago).toISOString());
      }
      await pool.query(
        `INSERT INTO stock_movements (store_id, inventory_level_id, reason, quantity_delta, reserved_delta, on_hand_before, on_hand_after,
             reserved_before, reserved_after, incoming_before, incoming_after, created_at)
         SELECT $1, u.level, u.reason::"MovementReason", u.d, u.r, 0, u.d, 0, u.r, 0, u.inc, u.at
           FROM unnest($2::uuid[], $3::text[], $4::int[], $5::int[], $6::int[], $7::timestamptz[]) AS u(level, reason, d, r, inc, at)`,
        [store.storeId, cols.level, cols.reason, cols.d, cols.r, cols.inc, cols.at],
      );
      const ledger = async (): Promise<LedgerRow[]> =>
        (
          await pool.query(
            `SELECT m.created_at AS at, m.reason, m.quantity_delta AS "dOnHand", m.reserved_delta AS "dReserved",
                    coalesce(m.incoming_after - m.incoming_before, 0) AS "dIncoming", l.variant_id AS "variantId", l.warehouse_id AS "warehouseId",
                    v.product_id AS "productId"
               FROM stock_movements m JOIN inventory_levels l ON l.id = m.inventory_level_id JOIN variants v ON v.id = l.variant_id
              WHERE m.store_id = $1`,
            [store.storeId],
          )
        ).rows.map((r: LedgerRow) => ({ ...r, at: new Date(r.at) }));
      const variant = (await ok(gql(`query($s: String) { variant(sku: $s) { id } }`, { s: p1.skus[0] }))).variant.id as string;
      const raw = (gid: string) => Buffer.from(gid, 'base64').toString('utf8').split(':').pop()!;
      const hour = 3_600_000;
      const day = 86_400_000;
      const now = Date.now();
      const cases: { unit: Unit; from: Date; to: Date | null; f: Record<string, unknown>; keep: (r: LedgerRow) => boolean }[] = [
        { unit: 'DAY', from: new Date(now - 21 * day - 17 * 60_000), to: null, f: {}, keep: () => true },
        { unit: 'HOUR', from: new Date(now - 3 * day - 17 * 60_000), to: new Date(now - day + 41 * 60_000), f: {}, keep: () => true },
        { unit: 'HOUR', from: new Date(now - 5 * hour - 7 * 60_000), to: new Date(now - 5 * hour + 13 * 60_000), f: {}, keep: () => true },
        {
          unit: 'WEEK',
          from: new Date(now - 22 * day),
          to: null,
          f: { reasons: ['RECEIVED', 'DAMAGED'] },
          keep: (r) => ['RECEIVED', 'DAMAGED'].includes(r.reason),
        },
        {
          unit: 'DAY',
          from: new Date(now - 10 * day + 1234),
          to: null,
          f: { warehouseIds: [wa.id] },
          keep: (r) => r.warehouseId === raw(wa.id),
        },
        { unit: 'DAY', from: new Date(now - 21 * day), to: null, f: { variantIds: [variant] }, keep: (r) => r.variantId === raw(variant) },
        {
          unit: 'HOUR',
          from: new Date(now - 4 * day + 5 * 60_000),
          to: new Date(now - 2 * hour),
          f: { productIds: [p1.id] },
          keep: (r) => r.productId === raw(p1.id),
        },
        {
          unit: 'DAY',
          from: new Date(now - 21 * day),
          to: null,
          f: { productIds: [p1.id], warehouseIds: [wb.id], reasons: ['SALE', 'RECEIVED', 'OTHER'] },
          keep: (r) => r.productId === raw(p1.id) && r.warehouseId === raw(wb.id) && ['SALE', 'RECEIVED', 'OTHER'].includes(r.reason),
        },
      ];
      const check = async (stage: string) => {
        const rows = await ledger();
        for (const c of cases) {
          const d = await ok(
            gql(SUMMARY, { f: { ...c.f, from: c.from.toISOString(), ...(c.to ? { to: c.to.toISOString() } : {}) }, g: c.unit }),
          );
          const s = d.stockMovementsSummary;
          const to = new Date(s.to);
          expect({ stage, unit: c.unit, f: c.f, buckets: s.buckets }).toEqual({
            stage,
            unit: c.unit,
            f: c.f,
            buckets: expected(rows, c.from, to, c.unit, c.keep),
          });
          expect(s.buckets.length).toBeGreaterThan(0);
        }
      };
      await check('before any checkpoint');
      const state = async () => (await pool.query(`SELECT rolled_until FROM stock_rollup_state`)).rows[0].rolled_until as Date | null;
      for (let i = 0; i < 10; i++) if (!(await rollupOnce(t.gateway.app)).behind) break;
      expect(await state()).not.toBeNull();
      const rolled = (
        await pool.query(`SELECT count(*)::int AS n, sum(movements)::int AS m FROM stock_movement_rollups WHERE store_id = $1`, [
          store.storeId,
        ])
      ).rows[0];
      expect(rolled.n).toBeGreaterThan(0);
      expect(rolled.m).toBe(n + skus.length * 2);
      const byWarehouse = (
        await pool.query(`SELECT count(*)::int AS n, sum(movements)::int AS m FROM stock_movement_warehouse_rollups WHERE store_id = $1`, [
          store.storeId,
        ])
      ).rows[0];
      expect(byWarehouse.m).toBe(n + skus.length * 2);
      expect(byWarehouse.n).toBeLessThan(rolled.n);
      await check('after the checkpoints');
      // Changes after the checkpoints: the raw tail.
      for (const sku of skus) await run(gql, M.adjust, 'inventoryAdjust', { sku, warehouseCode: wa.code, delta: -2, reason: 'SALE' });
      await check('with a tail after the checkpoints');
      await rollupOnce(t.gateway.app);
      await check('after one more run');
    });
  });

  test('a summary to now reads the busy current hour from its checkpoints, only the tail after them raw', async () => {
    const store = await createTestStore(t.gateway.app);
    const gql = makeClient(t.url, store.adminKey);
    const wh = await createWarehouse(gql);
    const p = await createProduct(gql);
    await run(gql, M.set, 'inventorySet', { sku: p.skus[0], warehouseCode: wh.code, quantity: 50, reason: 'RECEIVED' });
    const pool = t.gateway.app.db.pool;
    const [lv] = (await pool.query(`SELECT id FROM inventory_levels WHERE store_id = $1`, [store.storeId])).rows as { id: string }[];
    // A busy current hour: 2,000 movements in one transaction (straight into the ledger, stamped
    // with the transaction's start as the writer stamps them: after the checkpoints' bound).
    const n = 2000;
    await pool.query(
      `INSERT INTO stock_movements (store_id, inventory_level_id, reason, quantity_delta, reserved_delta, on_hand_before, on_hand_after,
           reserved_before, reserved_after)
       SELECT $1, $2, 'SALE', -1, 0, 0, -1, 0, 0 FROM generate_series(1, $3::int) g`,
      [store.storeId, lv.id, n],
    );
    for (let i = 0; i < 10; i++) if (!(await rollupOnce(t.gateway.app)).behind) break;
    const to = new Date(Date.now() + 1_000);
    const f = { from: new Date(Date.now() - 86_400_000), to, warehouseIds: null, variantIds: null, productIds: null, reasons: null };
    const rows = await movementSummary(poolTx(pool), store.storeId, f, 'hour');
    expect(rows.filter((r) => r.reason === 'SALE')).toEqual([expect.objectContaining({ onHandChange: String(-n), movements: String(n) })]);
    // The ledger rows the statement reads: the actual rows of its scans of stock_movements.
    const { sql, params } = summaryStatement(store.storeId, f, 'hour');
    const plan = (await pool.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${sql}`, params)).rows[0]['QUERY PLAN'][0].Plan;
    type Node = { 'Relation Name'?: string; 'Actual Rows': number; 'Actual Loops': number; Plans?: Node[] };
    const ledgerRows = (x: Node): number =>
      (x['Relation Name'] === 'stock_movements' ? x['Actual Rows'] * x['Actual Loops'] : 0) +
      (x.Plans ?? []).reduce((a, c) => a + ledgerRows(c), 0);
    // Before: the 2,000 movements of the current hour were read raw by every summary.
    expect(ledgerRows(plan)).toBeLessThan(50);
  });

  test('bad ranges are refused', async () => {
    const now = Date.now();
    const bad = async (f: Record<string, unknown>, g: Unit) => (await t.gql(SUMMARY, { f, g })).body.errors?.[0];
    expect(await bad({ from: new Date(now).toISOString(), to: new Date(now - 1000).toISOString() }, 'DAY')).toMatchObject({
      message: expect.stringContaining('after'),
      extensions: { code: 'BAD_USER_INPUT' },
    });
    expect(await bad({ from: new Date(now - 400 * 86_400_000).toISOString() }, 'HOUR')).toMatchObject({
      message: expect.stringContaining('at most'),
      extensions: { code: 'BAD_USER_INPUT' },
    });
    expect(await bad({ from: new Date(now - 400 * 86_400_000).toISOString() }, 'WEEK')).toBeUndefined();
    expect(await bad({ from: 'yesterday' }, 'DAY')).toMatchObject({ extensions: { code: 'BAD_USER_INPUT' } });
  });
});

describe('statements', () => {
  test('snapshots of 1 or 20 levels cost one statement; a summary is one statement', async () => {
    const wh = await createWarehouse(t.gql);
    const { skus } = await createProduct(t.gql, { skus: Array.from({ length: 20 }, () => uniq('ST')) });
    const items = skus.map((sku, i) => ({ mode: 'SET', sku, warehouseCode: wh.code, quantity: i + 1 }));
    await ok(t.gql(`mutation($i: InventoryBulkUpdateInput!) { inventoryBulkUpdate(input: $i) { updatedCount } }`, { i: { items } }));
    await tick();
    const at = new Date().toISOString();
    const count = async (query: string, variables: Record<string, unknown>) => {
      const res = await t.gql(query, variables);
      await ok(Promise.resolve(res));
      return Number(res.headers.get('x-sql-statements'));
    };
    const levels = (fields: string) =>
      `query($n: Int!, $skus: [String!], $at: DateTimeISO!) { inventoryLevels(first: $n, filter: { skus: $skus }) { nodes { id onHand ${fields.replace('AT', '$at')} } } }`;
    const bare = `query($n: Int!, $skus: [String!]) { inventoryLevels(first: $n, filter: { skus: $skus }) { nodes { id onHand } } }`;
    await count(bare, { n: 1, skus }); // warm-up (key cache)
    for (const n of [1, 20]) {
      const without = await count(bare, { n, skus });
      const withSnapshots = await count(levels(`snapshot(at: AT) { onHand reserved available status }`), { n, skus, at });
      expect({ n, extra: withSnapshots - without }).toEqual({ n, extra: 1 });
    }
    const base = await count(`{ __typename }`, {});
    const summary = await count(SUMMARY, { f: { from: new Date(Date.now() - 30 * 86_400_000).toISOString() }, g: 'DAY' });
    expect(summary - base).toBe(1);
  });
});

describe('checkpoint job', () => {
  test('never moves its bound past a transaction still open: its movements are counted once it commits', async () => {
    if (!usingPostgres) return; // PGlite is one connection: no transaction of another session can be open
    const wh = await createWarehouse(t.gql);
    const { skus } = await createProduct(t.gql);
    await run(t.gql, M.set, 'inventorySet', { sku: skus[0], warehouseCode: wh.code, quantity: 5, reason: 'RECEIVED' });
    const pool = t.gateway.app.db.pool;
    const level = (
      await pool.query(`SELECT l.id FROM inventory_levels l JOIN variants v ON v.id = l.variant_id WHERE v.sku = $1`, [skus[0]])
    ).rows[0].id as string;
    const other = await pool.connect();
    try {
      await other.query('BEGIN');
      // A movement stamped with this transaction's start (as the writer's are), not yet committed.
      const started = (
        await other.query(
          `INSERT INTO stock_movements (store_id, inventory_level_id, reason, quantity_delta, reserved_delta, on_hand_before, on_hand_after,
               reserved_before, reserved_after) VALUES ($1, $2, 'CORRECTION', 1, 0, 5, 6, 0, 0) RETURNING created_at`,
          [t.store.storeId, level],
        )
      ).rows[0].created_at as Date;
      await tick();
      await rollupOnce(t.gateway.app);
      const bound = (await pool.query(`SELECT rolled_until FROM stock_rollup_state`)).rows[0].rolled_until as Date;
      expect(bound.getTime()).toBeLessThanOrEqual(started.getTime());
      await other.query('COMMIT');
    } finally {
      other.release();
    }
    await tick();
    await rollupOnce(t.gateway.app);
    const counted = async (table: string) =>
      (await pool.query(`SELECT coalesce(sum(movements), 0)::int AS n FROM ${table} WHERE inventory_level_id = $1`, [level])).rows[0].n;
    expect(await counted('stock_movement_rollups')).toBe(2);
  });

  test("a snapshot on a movement recorded before settings were uses the level's current settings", async () => {
    const wh = await createWarehouse(t.gql);
    const { skus } = await createProduct(t.gql);
    await run(t.gql, M.set, 'inventorySet', { sku: skus[0], warehouseCode: wh.code, quantity: 5, reason: 'RECEIVED' });
    const pool = t.gateway.app.db.pool;
    const level = (
      await pool.query(`SELECT l.id FROM inventory_levels l JOIN variants v ON v.id = l.variant_id WHERE v.sku = $1`, [skus[0]])
    ).rows[0].id as string;
    await tick();
    // An old-style ledger row: counters only (as written before migration 20261130140000).
    await pool.query(
      `INSERT INTO stock_movements (store_id, inventory_level_id, reason, quantity_delta, reserved_delta, on_hand_before, on_hand_after,
           reserved_before, reserved_after) VALUES ($1, $2, 'CORRECTION', 2, 0, 5, 7, 0, 0)`,
      [t.store.storeId, level],
    );
    await tick();
    const at = new Date().toISOString();
    await tick();
    await run(t.gql, M.update, 'inventoryLevelUpdate', { sku: skus[0], warehouseCode: wh.code, safetyStock: 3, lowStockThreshold: 5 });
    expect((await snapshotsAt(skus, at))[0].snapshot).toEqual({ onHand: 7, reserved: 0, incoming: 0, available: 4, status: 'LOW_STOCK' });
  });
});

describe('typed client', () => {
  test('stockMovementsSummary is a method; snapshots go through request() with their document', async () => {
    const wh = await createWarehouse(t.gql);
    const { skus } = await createProduct(t.gql);
    await run(t.gql, M.set, 'inventorySet', { sku: skus[0], warehouseCode: wh.code, quantity: 9, reason: 'RECEIVED' });
    await tick();
    const at = new Date().toISOString();
    await tick();
    await run(t.gql, M.adjust, 'inventoryAdjust', { sku: skus[0], warehouseCode: wh.code, delta: -4, reason: 'SALE' });
    const client = createInventoryClient({ url: t.url, apiKey: t.store.adminKey });
    const page = await client.request(InventoryLevelSnapshotsDocument, { at, filter: { skus } });
    expect(page.inventoryLevels.edges.map((e) => [e.node.variant.sku, e.node.snapshot?.onHand, e.node.snapshot?.available])).toEqual([
      [skus[0], 9, 9],
    ]);
    const s = await client.stockMovementsSummary({
      filter: { from: new Date(Date.now() - 3_600_000).toISOString(), warehouseIds: [wh.id] },
      groupBy: 'HOUR',
    });
    expect(s.buckets.map((b) => [b.reason, b.onHandChange, b.movements]).sort()).toEqual(
      [
        ['RECEIVED', '9', '1'],
        ['SALE', '-4', '1'],
      ].sort(),
    );
  });
});
