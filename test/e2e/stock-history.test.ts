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
import { createProduct, createWarehouse, uniq } from '../helpers/factories';
import { makeClient, ok, type GqlClient } from '../helpers/gql';
import { eventually, pastInDatabase } from '../helpers/poll';
import { withSeed } from '../helpers/rng';
import { startTestServer, type TestServer } from '../helpers/server';
import { tuningEnv } from '../../src/config/tuning';
import { rollupOnce } from '../../src/modules/inventory';

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
