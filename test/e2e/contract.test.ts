/**
 * Issue 17, over HTTP: one answer per input (error codes in a fixed validation order), the one rule
 * of level creation, read-only levels, exact totals beyond 32 bits, explicit nulls, ledger rows for
 * every change of available, expiry movements naming their reservation, and the seeds' fields.
 */
import { createProduct, createWarehouse, LEVEL_FIELDS, setStock, stockedSku, uniq } from '../helpers/factories';
import { PassThrough, Readable } from 'node:stream';
import { poolTx } from '../../src/db/tx';
import { exportCsv } from '../../src/modules/csv/csv-export.service';
import { importCsv } from '../../src/modules/csv/csv-import.service';
import { deleteEvents } from '../../src/events/event-log';
import { ok } from '../helpers/gql';
import { pastInDatabase } from '../helpers/poll';
import { subscribe } from '../helpers/ws';
import { startTestServer, type TestServer } from '../helpers/server';
import { tuningEnv } from '../../src/config/tuning';

jest.setTimeout(60_000);

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ INVENTORY_TUNING: tuningEnv({ RESERVATION_TTL_MAX_SECONDS: 3600 }) });
});
afterAll(async () => {
  await t?.stop();
});

const ERR = 'userErrors { code field message }';
const ADJUST = `mutation($input: InventoryAdjustInput!) { inventoryAdjust(input: $input) { inventoryLevel { ${LEVEL_FIELDS} } ${ERR} } }`;
const SET = `mutation($input: InventorySetInput!) { inventorySet(input: $input) { inventoryLevel { ${LEVEL_FIELDS} } ${ERR} } }`;
const MOVE = `mutation($input: InventoryMoveInput!) { inventoryMove(input: $input) { source { onHand } destination { onHand } ${ERR} } }`;
const LEVEL_UPDATE = `mutation($input: InventoryLevelUpdateInput!) { inventoryLevelUpdate(input: $input) { inventoryLevel { ${LEVEL_FIELDS} } ${ERR} } }`;
const RESERVE = `mutation($input: InventoryReserveInput!) { inventoryReserve(input: $input) { reservation { id expiresAt lines { id } } ${ERR} } }`;
const RELEASE = `mutation($input: ReservationSettleInput!) { reservationRelease(input: $input) { reservation { id status } ${ERR} } }`;
const BULK = `mutation($input: InventoryBulkUpdateInput!) { inventoryBulkUpdate(input: $input) {
  updatedCount failedCount results { index inventoryLevel { id onHand } ${ERR} } ${ERR} } }`;

const levelCount = async (sku: string, code: string) =>
  Number(
    (
      await t.gateway.app.db.pool.query(
        `SELECT count(*) FROM inventory_levels l JOIN variants v ON v.id = l.variant_id JOIN warehouses w ON w.id = l.warehouse_id WHERE v.sku = $1 AND w.code = $2`,
        [sku, code],
      )
    ).rows[0].count,
  );

describe('error codes: one code per input, one validation order', () => {
  test('an unknown warehouse is WAREHOUSE_NOT_FOUND on reserve, adjust, move, set, level update and bulk', async () => {
    const s = await stockedSku(t.gql, 5);
    const nowhere = uniq('NOWHERE');
    const adj = (await ok(t.gql(ADJUST, { input: { sku: s.sku, warehouseCode: nowhere, delta: 1, reason: 'CORRECTION' } })))
      .inventoryAdjust;
    expect(adj.userErrors[0]).toMatchObject({ code: 'WAREHOUSE_NOT_FOUND', field: ['input', 'warehouseCode'] });
    const set = (await ok(t.gql(SET, { input: { sku: s.sku, warehouseCode: nowhere, quantity: 1 } }))).inventorySet;
    expect(set.userErrors[0].code).toBe('WAREHOUSE_NOT_FOUND');
    const mv = (await ok(t.gql(MOVE, { input: { sku: s.sku, fromWarehouseCode: s.warehouseCode, toWarehouseCode: nowhere, quantity: 1 } })))
      .inventoryMove;
    expect(mv.userErrors[0]).toMatchObject({ code: 'WAREHOUSE_NOT_FOUND', field: ['input', 'to', 'warehouseCode'] });
    const lu = (await ok(t.gql(LEVEL_UPDATE, { input: { sku: s.sku, warehouseCode: nowhere, lowStockThreshold: 1 } })))
      .inventoryLevelUpdate;
    expect(lu.userErrors[0].code).toBe('WAREHOUSE_NOT_FOUND');
    const bulk = (
      await ok(
        t.gql(BULK, {
          input: { errorPolicy: 'REJECT_FAILED_ROWS', items: [{ mode: 'ADJUST', sku: s.sku, warehouseCode: nowhere, delta: 1 }] },
        }),
      )
    ).inventoryBulkUpdate;
    expect(bulk.results[0].userErrors[0].code).toBe('WAREHOUSE_NOT_FOUND');
    for (const lines of [
      [{ sku: s.sku, warehouseCode: nowhere, quantity: 1 }],
      [
        { sku: s.sku, quantity: 1 },
        { sku: s.sku, warehouseCode: nowhere, quantity: 1 },
      ],
    ]) {
      const res = (await ok(t.gql(RESERVE, { input: { lines } }))).inventoryReserve;
      expect(res.reservation).toBeNull();
      expect(res.userErrors).toEqual([
        expect.objectContaining({ code: 'WAREHOUSE_NOT_FOUND', field: ['input', 'lines', String(lines.length - 1), 'warehouseCode'] }),
      ]);
    }
    // A read-only warehouse is READONLY_WAREHOUSE before any level question, as on adjust.
    const ro = await createWarehouse(t.gql, { readOnly: true });
    const roRes = (await ok(t.gql(RESERVE, { input: { lines: [{ sku: s.sku, warehouseCode: ro.code, quantity: 1 }] } }))).inventoryReserve;
    expect(roRes.userErrors[0].code).toBe('READONLY_WAREHOUSE');
    const roAdj = (await ok(t.gql(ADJUST, { input: { sku: s.sku, warehouseCode: ro.code, delta: 1, reason: 'CORRECTION' } })))
      .inventoryAdjust;
    expect(roAdj.userErrors[0].code).toBe('READONLY_WAREHOUSE');
    // An existing warehouse without a level of the variant is INVENTORY_NOT_FOUND.
    const other = await createWarehouse(t.gql);
    const res = (await ok(t.gql(RESERVE, { input: { lines: [{ sku: s.sku, warehouseCode: other.code, quantity: 1 }] } }))).inventoryReserve;
    expect(res.userErrors[0].code).toBe('INVENTORY_NOT_FOUND');
  });

  test('a move of 2,147,483,647 from a level with 8 available is INSUFFICIENT_STOCK on every run, whichever level id is lower', async () => {
    const codes = new Set<string>();
    for (let i = 0; i < 8; i++) {
      // Fresh warehouses: their level ids fall on either side of each other.
      const from = await createWarehouse(t.gql);
      const to = await createWarehouse(t.gql);
      const p = await createProduct(t.gql);
      await setStock(t.gql, p.skus[0], from.code, 8);
      await setStock(t.gql, p.skus[0], to.code, 5);
      const r = (
        await ok(t.gql(MOVE, { input: { sku: p.skus[0], fromWarehouseCode: from.code, toWarehouseCode: to.code, quantity: 2147483647 } }))
      ).inventoryMove;
      expect(r.userErrors[0].field).toEqual(['input', 'from']);
      codes.add(r.userErrors[0].code);
    }
    expect([...codes]).toEqual(['INSUFFICIENT_STOCK']);
  });

  test('releasing an expired reservation is RESERVATION_EXPIRED, and the code description says so', async () => {
    const s = await stockedSku(t.gql, 5);
    const r = (await ok(t.gql(RESERVE, { input: { lines: [{ sku: s.sku, quantity: 2 }], ttlSeconds: 1 } }))).inventoryReserve;
    await pastInDatabase(t.gateway.app.db.pool, r.reservation.expiresAt);
    const rel = (await ok(t.gql(RELEASE, { input: { reservationId: r.reservation.id } }))).reservationRelease;
    expect(rel.userErrors[0]).toMatchObject({ code: 'RESERVATION_EXPIRED' });
    const d = await ok(t.gql(`{ __type(name: "ErrorCode") { enumValues { name description } } }`));
    const desc = d.__type.enumValues.find((v: { name: string }) => v.name === 'RESERVATION_EXPIRED').description;
    expect(desc).toMatch(/releasing a reservation whose lines have expired/);
    for (const v of d.__type.enumValues) expect(v.description).toMatch(/^Returned (when|by)/);
  });
});

describe('levels are created only by inventorySet and bulk SET', () => {
  test('adjust (either sign), level update, move and bulk ADJUST on a missing level are INVENTORY_NOT_FOUND and create nothing', async () => {
    const wh = await createWarehouse(t.gql);
    const home = await createWarehouse(t.gql);
    const p = await createProduct(t.gql);
    const sku = p.skus[0];
    await setStock(t.gql, sku, home.code, 10);
    for (const delta of [3, -1]) {
      const r = (await ok(t.gql(ADJUST, { input: { sku, warehouseCode: wh.code, delta, reason: 'RECEIVED' } }))).inventoryAdjust;
      expect(r.userErrors[0]).toMatchObject({ code: 'INVENTORY_NOT_FOUND' });
    }
    const lu = (await ok(t.gql(LEVEL_UPDATE, { input: { sku, warehouseCode: wh.code, safetyStock: 3 } }))).inventoryLevelUpdate;
    expect(lu.userErrors[0].code).toBe('INVENTORY_NOT_FOUND');
    const mv = (await ok(t.gql(MOVE, { input: { sku, fromWarehouseCode: home.code, toWarehouseCode: wh.code, quantity: 1 } })))
      .inventoryMove;
    expect(mv.userErrors[0]).toMatchObject({ code: 'INVENTORY_NOT_FOUND', field: ['input', 'to'] });
    const bulk = (
      await ok(
        t.gql(BULK, { input: { errorPolicy: 'REJECT_FAILED_ROWS', items: [{ mode: 'ADJUST', sku, warehouseCode: wh.code, delta: 2 }] } }),
      )
    ).inventoryBulkUpdate;
    expect(bulk.results[0].userErrors[0].code).toBe('INVENTORY_NOT_FOUND');
    expect(await levelCount(sku, wh.code)).toBe(0);

    const bulkSet = (await ok(t.gql(BULK, { input: { items: [{ mode: 'SET', sku, warehouseCode: wh.code, quantity: 4 }] } })))
      .inventoryBulkUpdate;
    expect(bulkSet.results[0].inventoryLevel).toMatchObject({ onHand: 4 });
    expect(await levelCount(sku, wh.code)).toBe(1);
    const wh2 = await createWarehouse(t.gql);
    const set = (await ok(t.gql(SET, { input: { sku, warehouseCode: wh2.code, quantity: 0 } }))).inventorySet;
    expect(set.inventoryLevel).toMatchObject({ onHand: 0 });
    const adj = (await ok(t.gql(ADJUST, { input: { sku, warehouseCode: wh2.code, delta: 3, reason: 'RECEIVED' } }))).inventoryAdjust;
    expect(adj.inventoryLevel).toMatchObject({ onHand: 3 });
  });
});

describe('read-only (marketplace-fulfilled) levels', () => {
  test('inventoryLevelUpdate may change alert thresholds, not safetyStock or incoming', async () => {
    const ro = await createWarehouse(t.gql, { readOnly: true });
    const p = await createProduct(t.gql);
    // Stock of a read-only warehouse arrives from the marketplace (here: written directly).
    await t.gateway.app.db.pool.query(
      `INSERT INTO inventory_levels (store_id, variant_id, warehouse_id, on_hand) SELECT $1, v.id, w.id, 20 FROM variants v, warehouses w WHERE v.sku = $2 AND w.code = $3`,
      [t.store.storeId, p.skus[0], ro.code],
    );
    const addr = { sku: p.skus[0], warehouseCode: ro.code };
    const safety = (await ok(t.gql(LEVEL_UPDATE, { input: { ...addr, safetyStock: 3 } }))).inventoryLevelUpdate;
    expect(safety.userErrors).toEqual([expect.objectContaining({ code: 'READONLY_WAREHOUSE', field: ['input', 'safetyStock'] })]);
    const incoming = (await ok(t.gql(LEVEL_UPDATE, { input: { ...addr, incoming: 3, lowStockThreshold: 2 } }))).inventoryLevelUpdate;
    expect(incoming.userErrors).toEqual([expect.objectContaining({ code: 'READONLY_WAREHOUSE', field: ['input', 'incoming'] })]);
    const thresholds = (await ok(t.gql(LEVEL_UPDATE, { input: { ...addr, lowStockThreshold: 25, criticalThreshold: 5 } })))
      .inventoryLevelUpdate;
    expect(thresholds.userErrors).toEqual([]);
    expect(thresholds.inventoryLevel).toMatchObject({
      onHand: 20,
      available: 20,
      safetyStock: 0,
      incoming: 0,
      lowStockThreshold: 25,
      criticalThreshold: 5,
      status: 'LOW_STOCK',
    });
  });
});

describe('totals beyond 32 bits', () => {
  test('three warehouses at 800,000,000: every total is exact (Int64), deprecated Int totals say VALUE_OUT_OF_RANGE', async () => {
    const whs = [await createWarehouse(t.gql), await createWarehouse(t.gql), await createWarehouse(t.gql)];
    const p = await createProduct(t.gql, { skus: [uniq('BIG')] });
    const sku = p.skus[0];
    for (const w of whs) {
      await setStock(t.gql, sku, w.code, 800_000_000);
      const u = (await ok(t.gql(LEVEL_UPDATE, { input: { sku, warehouseCode: w.code, incoming: 900_000_000 } }))).inventoryLevelUpdate;
      expect(u.userErrors).toEqual([]);
    }
    const T = 'totals { onHand reserved available incoming }';
    const exact = { onHand: '2400000000', reserved: '0', available: '2400000000', incoming: '2700000000' };
    const d = await ok(
      t.gql(
        `query($f: InventoryLevelFilter, $sku: String, $id: ID!) {
          inventorySummary(filter: $f) { total ${T} }
          variant(sku: $sku) { ${T} product { ${T} } }
          product(id: $id) { ${T} }
          products(first: 250, sortKey: TOTAL_ON_HAND, reverse: true) { nodes { id ${T} } }
        }`,
        { f: { warehouseIds: whs.map((w) => w.id) }, sku, id: p.id },
      ),
    );
    expect(d.inventorySummary).toEqual({ total: 3, totals: exact });
    expect(d.variant).toEqual({ totals: exact, product: { totals: exact } });
    expect(d.product.totals).toEqual(exact);
    expect(d.products.nodes[0]).toEqual({ id: p.id, totals: exact });

    for (const [q, path] of [
      [`{ inventorySummary(filter: { warehouseIds: ${JSON.stringify(whs.map((w) => w.id))} }) { total totalOnHand } }`, 'inventorySummary'],
      [`{ variant(sku: "${sku}") { totalOnHand totalIncoming } }`, 'variant'],
      [`{ product(id: "${p.id}") { totalOnHand } }`, 'product'],
      [`{ products(first: 1, sortKey: TOTAL_ON_HAND, reverse: true) { nodes { totalOnHand } } }`, 'products'],
    ]) {
      const r = await t.gql(q);
      expect(r.body.errors?.length).toBeGreaterThan(0);
      for (const e of r.body.errors!) {
        expect(e.extensions?.code).toBe('VALUE_OUT_OF_RANGE');
        expect(e.message).toMatch(/read totals\.\w+ \(Int64\)/);
        expect(e.path?.[0]).toBe(path);
      }
    }
    // Below 2^31 the deprecated fields still answer.
    const small = await stockedSku(t.gql, 7);
    expect((await ok(t.gql(`{ variant(sku: "${small.sku}") { totalOnHand totals { onHand } } }`))).variant).toEqual({
      totalOnHand: 7,
      totals: { onHand: '7' },
    });
  });
});

describe('explicit null on an argument with a default means the default', () => {
  test('products/variants/warehouses/inventoryLevels/stockMovements/reservations with sortKey: null and reverse: null', async () => {
    const s = await stockedSku(t.gql, 3);
    for (const q of [
      `{ products(first: 2, sortKey: null, reverse: null) { nodes { id } } }`,
      `{ variants(first: 2, sortKey: null, reverse: null) { nodes { sku } } }`,
      `{ warehouses(first: 2, sortKey: null, reverse: null) { nodes { code } } }`,
      `{ inventoryLevels(first: 2, sortKey: null, reverse: null) { nodes { id } } }`,
      `{ stockMovements(first: 2, reverse: null) { nodes { id } } }`,
      `{ reservations(first: 2, reverse: null) { nodes { id } } }`,
      `{ variant(sku: "${s.sku}") { inventoryLevels(first: 2, sortKey: null, reverse: null) { nodes { id } } product { variants(first: 2, sortKey: null, reverse: null) { nodes { sku } } } } }`,
    ]) {
      const r = await t.gql(q);
      expect(r.body.errors).toBeUndefined();
    }
    // With variables too, and the answer is the default order's.
    const byNull = await ok(
      t.gql(`query($s: ProductSortKey, $r: Boolean) { products(first: 20, sortKey: $s, reverse: $r) { nodes { id } } }`, {
        s: null,
        r: null,
      }),
    );
    const byDefault = await ok(t.gql(`{ products(first: 20) { nodes { id } } }`));
    expect(byNull).toEqual(byDefault);
    // Bulk items: mode null or omitted is ADJUST (seed 004).
    const bulk = (
      await ok(
        t.gql(BULK, {
          input: {
            items: [
              { sku: s.sku, warehouseCode: s.warehouseCode, delta: 2 },
              { mode: null, sku: s.sku, warehouseCode: s.warehouseCode, delta: 1 },
            ],
          },
        }),
      )
    ).inventoryBulkUpdate;
    expect(bulk.userErrors).toEqual([]);
    expect(bulk.results.map((r: { inventoryLevel: { onHand: number } }) => r.inventoryLevel.onHand)).toEqual([5, 6]);
  });
});

describe('event replay from "0" / "oldest" after the retention purge', () => {
  const CHANGED = `subscription($f: InventoryEventFilter, $after: String) { inventoryChanged(filter: $f, after: $after) { cursor after { onHand } variant { sku } } }`;
  const until = async (what: string, check: () => Promise<boolean>, ms = 10_000) => {
    const end = Date.now() + ms;
    while (!(await check())) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  test('"0" and "oldest" replay everything retained, never CURSOR_EXPIRED; an old cursor is CURSOR_EXPIRED; a cursor beyond the newest is refused', async () => {
    const pool = t.gateway.app.db.pool;
    const s = await stockedSku(t.gql, 1);
    await ok(t.gql(ADJUST, { input: { sku: s.sku, warehouseCode: s.warehouseCode, delta: 1, reason: 'RECEIVED' } }));
    await until('sequencing', async () => (await pool.query(`SELECT count(*)::int AS n FROM outbox_events`)).rows[0].n === 0);
    // Retention purges everything numbered so far.
    expect(await deleteEvents(poolTx(pool), 'event_log', 0)).toBeGreaterThan(0);
    const purged = Number(
      (await pool.query(`SELECT purged_through AS s FROM event_streams WHERE store_id = $1`, [t.store.storeId])).rows[0].s,
    );
    expect(purged).toBeGreaterThan(1);
    for (const q of [3, 4]) await ok(t.gql(SET, { input: { sku: s.sku, warehouseCode: s.warehouseCode, quantity: q } }));
    await until('sequencing', async () => (await pool.query(`SELECT count(*)::int AS n FROM outbox_events`)).rows[0].n === 0);

    for (const after of ['0', 'oldest']) {
      const sub = await subscribe(t.url, t.store.adminKey, CHANGED, { f: { skus: [s.sku] }, after });
      const got = await sub.waitFor(2);
      expect(sub.errors).toEqual([]);
      expect(got.map((e: { after: { onHand: number } }) => e.after.onHand)).toEqual([3, 4]);
      expect(Number(got[0].cursor)).toBeGreaterThan(purged);
      await sub.close();
    }
    const old = await subscribe(t.url, t.store.adminKey, CHANGED, { after: '1' });
    await until('CURSOR_EXPIRED', async () => old.errors.length > 0);
    expect(JSON.stringify(old.errors)).toContain('CURSOR_EXPIRED');
    await old.close();
    const newest = Number((await pool.query(`SELECT head AS s FROM event_streams WHERE store_id = $1`, [t.store.storeId])).rows[0].s);
    const ahead = await subscribe(t.url, t.store.adminKey, CHANGED, { after: String(newest + 1000) });
    await until('refusal', async () => ahead.errors.length > 0);
    expect(JSON.stringify(ahead.errors)).toMatch(/BAD_USER_INPUT.*beyond the newest event|beyond the newest event.*BAD_USER_INPUT/);
    await ahead.close();
  });
});

describe('the ledger tells the whole story', () => {
  const MOVES = `query($f: StockMovementFilter) { stockMovements(first: 50, filter: $f) { nodes { reason quantityDelta reservedDelta reservedBefore reservedAfter
    availableBefore availableAfter settingsBefore { safetyStock incoming lowStockThreshold criticalThreshold }
    settingsAfter { safetyStock incoming lowStockThreshold criticalThreshold } reservation { id } actor } } }`;

  test('safetyStock, incoming and threshold changes write an OTHER movement with before and after; a no-op writes none', async () => {
    const s = await stockedSku(t.gql, 20);
    const f = { inventoryLevelIds: [s.level.id] };
    const before = (await ok(t.gql(MOVES, { f }))).stockMovements.nodes.length;
    await ok(t.gql(LEVEL_UPDATE, { input: { inventoryLevelId: s.level.id, safetyStock: 3 } }));
    await ok(t.gql(LEVEL_UPDATE, { input: { inventoryLevelId: s.level.id, incoming: 40, lowStockThreshold: 18, criticalThreshold: 2 } }));
    await ok(t.gql(LEVEL_UPDATE, { input: { inventoryLevelId: s.level.id, safetyStock: 3 } })); // no change
    const nodes = (await ok(t.gql(MOVES, { f }))).stockMovements.nodes.slice(before);
    expect(nodes).toEqual([
      expect.objectContaining({
        reason: 'OTHER',
        quantityDelta: 0,
        reservedDelta: 0,
        availableBefore: 20,
        availableAfter: 17,
        settingsBefore: { safetyStock: 0, incoming: 0, lowStockThreshold: 0, criticalThreshold: 0 },
        settingsAfter: { safetyStock: 3, incoming: 0, lowStockThreshold: 0, criticalThreshold: 0 },
      }),
      expect.objectContaining({
        reason: 'OTHER',
        availableBefore: 17,
        availableAfter: 17,
        settingsBefore: { safetyStock: 3, incoming: 0, lowStockThreshold: 0, criticalThreshold: 0 },
        settingsAfter: { safetyStock: 3, incoming: 40, lowStockThreshold: 18, criticalThreshold: 2 },
      }),
    ]);
  });

  test('the sweeper writes one EXPIRY movement per expired reservation, naming it (stockMovements(filter: { reservationIds }) shows it)', async () => {
    const s = await stockedSku(t.gql, 10);
    const ids: string[] = [];
    for (const quantity of [2, 3]) {
      const r = (await ok(t.gql(RESERVE, { input: { lines: [{ sku: s.sku, quantity }], ttlSeconds: 1 } }))).inventoryReserve;
      expect(r.userErrors).toEqual([]);
      ids.push(r.reservation.id);
    }
    const end = Date.now() + 15_000;
    let expiries: any[] = [];
    while (Date.now() < end) {
      expiries = (await ok(t.gql(MOVES, { f: { inventoryLevelIds: [s.level.id], reasons: ['EXPIRY'] } }))).stockMovements.nodes;
      if (expiries.length >= 2) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(expiries).toHaveLength(2);
    for (const [i, id] of ids.entries()) {
      const own = (await ok(t.gql(MOVES, { f: { reservationIds: [id] } }))).stockMovements.nodes;
      expect(own.map((m: { reason: string }) => m.reason)).toEqual(['RESERVATION', 'EXPIRY']);
      expect(own[1]).toMatchObject({ reservedDelta: -[2, 3][i], reservation: { id }, actor: 'system:expiry' });
    }
    // The two rows chain: reserved 5 → … → 0.
    const chain = [...expiries].sort((a, b) => b.reservedBefore - a.reservedBefore);
    expect(chain[0].reservedBefore).toBe(5);
    expect(chain[0].reservedAfter).toBe(chain[1].reservedBefore);
    expect(chain[1].reservedAfter).toBe(0);
  });
});

describe("the seeds' fields", () => {
  const V = `id sku price { amount currencyCode }`;
  test('seed 002: a variant price is readable, set on create and update (null removes it), validated, and sortable (PRICE)', async () => {
    const skus = [uniq('P1'), uniq('P2'), uniq('P3')];
    const d = await ok(
      t.gql(
        `mutation($input: ProductCreateInput!) { productCreate(input: $input) { product { id variants(first: 5, sortKey: PRICE) { nodes { ${V} } } } userErrors { code field } } }`,
        {
          input: {
            name: 'Roses',
            externalId: uniq('ROSE'),
            variants: [
              { sku: skus[0], label: 'Large', price: { amount: '750', currencyCode: 'BDT' } },
              { sku: skus[1], label: 'Small', price: { amount: '500.50', currencyCode: 'BDT' } },
              { sku: skus[2], label: 'Sample' },
            ],
          },
        },
      ),
    );
    expect(d.productCreate.userErrors).toEqual([]);
    const nodes = d.productCreate.product.variants.nodes;
    expect(nodes.map((n: { sku: string; price: unknown }) => [n.sku, n.price])).toEqual([
      [skus[2], null],
      [skus[1], { amount: '500.5', currencyCode: 'BDT' }],
      [skus[0], { amount: '750', currencyCode: 'BDT' }],
    ]);
    const UPDATE = `mutation($id: ID!, $input: VariantUpdateInput!) { variantUpdate(id: $id, input: $input) { variant { ${V} } userErrors { code field } } }`;
    const up = (await ok(t.gql(UPDATE, { id: nodes[0].id, input: { price: { amount: '0.0001', currencyCode: 'EUR' } } }))).variantUpdate;
    expect(up.variant.price).toEqual({ amount: '0.0001', currencyCode: 'EUR' });
    const keep = (await ok(t.gql(UPDATE, { id: nodes[0].id, input: { label: 'Tiny' } }))).variantUpdate;
    expect(keep.variant.price).toEqual({ amount: '0.0001', currencyCode: 'EUR' });
    const bad = (await ok(t.gql(UPDATE, { id: nodes[0].id, input: { price: { amount: '1.23456', currencyCode: 'eur' } } }))).variantUpdate;
    expect(bad.userErrors.map((e: { field: string[] }) => e.field.join('.'))).toEqual(['input.price.amount', 'input.price.currencyCode']);
    const neg = (await ok(t.gql(UPDATE, { id: nodes[0].id, input: { price: { amount: '-1', currencyCode: 'EUR' } } }))).variantUpdate;
    expect(neg.userErrors[0]).toMatchObject({ code: 'INVALID_INPUT' });
    const cleared = (await ok(t.gql(UPDATE, { id: nodes[1].id, input: { price: null } }))).variantUpdate;
    expect(cleared.variant.price).toBeNull();
    const created = await ok(
      t.gql(
        `mutation($p: ID!, $input: VariantInput!) { variantCreate(productId: $p, input: $input) { variant { ${V} } userErrors { code } } }`,
        {
          p: d.productCreate.product.id,
          input: { sku: uniq('P4'), price: { amount: '12.5', currencyCode: 'USD' } },
        },
      ),
    );
    expect(created.variantCreate.variant.price).toEqual({ amount: '12.5', currencyCode: 'USD' });
    // Sorted by price, with keyset paging one by one (reverse: highest first, no price last).
    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const pg: any = await ok(
        t.gql(
          `query($f: VariantFilter, $a: String) { variants(first: 1, after: $a, filter: $f, sortKey: PRICE, reverse: true) { pageInfo { hasNextPage endCursor } nodes { sku } } }`,
          {
            f: { productIds: [d.productCreate.product.id] },
            a: after,
          },
        ),
      );
      seen.push(...pg.variants.nodes.map((n: { sku: string }) => n.sku));
      if (!pg.variants.pageInfo.hasNextPage) break;
      after = pg.variants.pageInfo.endCursor;
    }
    // 750 BDT, 12.5 USD, 0.0001 EUR, none (the amount alone orders them).
    expect(seen).toEqual([skus[0], created.variantCreate.variant.sku, skus[2], skus[1]]);
  });

  test('seed 003: a warehouse has a marketplace (set, read, cleared)', async () => {
    const W = `id code marketplace readOnly type`;
    const c = await ok(
      t.gql(`mutation($input: WarehouseInput!) { warehouseCreate(input: $input) { warehouse { ${W} } userErrors { code field } } }`, {
        input: { code: uniq('FBA'), name: 'FBA EU', type: 'FBA', marketplace: 'amazon_eu' },
      }),
    );
    expect(c.warehouseCreate.warehouse).toMatchObject({ marketplace: 'amazon_eu', readOnly: true, type: 'FBA' });
    const read = await ok(
      t.gql(`query($id: ID!) { node(id: $id) { ... on Warehouse { marketplace } } }`, { id: c.warehouseCreate.warehouse.id }),
    );
    expect(read.node.marketplace).toBe('amazon_eu');
    const UPDATE = `mutation($id: ID!, $input: WarehouseInput!) { warehouseUpdate(id: $id, input: $input) { warehouse { ${W} } userErrors { code field } } }`;
    const bad = (await ok(t.gql(UPDATE, { id: c.warehouseCreate.warehouse.id, input: { marketplace: 'amazon eu!' } }))).warehouseUpdate;
    expect(bad.userErrors[0]).toMatchObject({ code: 'INVALID_INPUT', field: ['input', 'marketplace'] });
    const cleared = (await ok(t.gql(UPDATE, { id: c.warehouseCreate.warehouse.id, input: { marketplace: null } }))).warehouseUpdate;
    expect(cleared.warehouse.marketplace).toBeNull();
  });
});

describe('seed 002 in CSV', () => {
  test('import sets prices from price/currency columns (with the stock, atomically per row); export writes them and imports back unchanged', async () => {
    const app = t.gateway.app;
    const auth = { keyId: 'csv', storeId: t.store.storeId, kind: 'sk' as const, scopes: ['admin'], actor: 'system:csv-test' };
    const wh = await createWarehouse(t.gql);
    const a = await createProduct(t.gql);
    const b = await createProduct(t.gql);
    const csv = `sku,warehouse,quantity,price,currency\n${a.skus[0]},${wh.code},5,7.50,EUR\n${b.skus[0]},${wh.code},6,,\n${a.skus[0]},${wh.code},7,3,\n`;
    const sum = await importCsv(app, { auth, input: Readable.from([csv]), seed: uniq('seed') });
    expect(sum).toMatchObject({ applied: 2, failed: 1 });
    const prices = await ok(
      t.gql(`query($s: [String!]) { variants(first: 5, filter: { skus: $s }) { nodes { sku price { amount currencyCode } } } }`, {
        s: [a.skus[0], b.skus[0]],
      }),
    );
    expect(Object.fromEntries(prices.variants.nodes.map((n: { sku: string; price: unknown }) => [n.sku, n.price]))).toEqual({
      [a.skus[0]]: { amount: '7.5', currencyCode: 'EUR' },
      [b.skus[0]]: null,
    });
    const out = new PassThrough();
    let text = '';
    out.on('data', (c: Buffer) => (text += c.toString()));
    await exportCsv(app, { storeId: t.store.storeId, warehouseCode: wh.code }, out);
    const lines = text.trim().split('\n');
    // The price and currency columns (the backorder policy columns follow them: docs/CSV.md).
    const header = lines[0].split(',');
    const at = header.indexOf('price');
    expect(header.slice(at, at + 2)).toEqual(['price', 'currency']);
    const priceOf = (sku: string) =>
      lines
        .find((l) => l.startsWith(sku))!
        .split(',')
        .slice(at, at + 2);
    expect(priceOf(a.skus[0])).toEqual(['7.5', 'EUR']);
    expect(priceOf(b.skus[0])).toEqual(['', '']);
    const again = await importCsv(app, { auth, input: Readable.from([text]), seed: uniq('seed') });
    expect(again.failed).toBe(0);
    const after = await ok(
      t.gql(`query($s: String) { variant(sku: $s) { price { amount currencyCode } inventoryLevels(first: 1) { nodes { onHand } } } }`, {
        s: a.skus[0],
      }),
    );
    expect(after.variant).toEqual({ price: { amount: '7.5', currencyCode: 'EUR' }, inventoryLevels: { nodes: [{ onHand: 5 }] } });
  });
});

describe('paging under concurrent changes (what docs/API.md promises)', () => {
  test('by an immutable key (SKU): every level exactly once while its stock changes', async () => {
    const wh = await createWarehouse(t.gql);
    const skus: string[] = [];
    for (let i = 0; i < 12; i++) {
      const p = await createProduct(t.gql);
      await setStock(t.gql, p.skus[0], wh.code, 50);
      skus.push(p.skus[0]);
    }
    let writing = true;
    const writer = (async () => {
      for (let i = 0; writing; i++) {
        await ok(
          t.gql(ADJUST, { input: { sku: skus[i % skus.length], warehouseCode: wh.code, delta: i % 2 ? 1 : -1, reason: 'CORRECTION' } }),
        );
      }
    })();
    const seen: string[] = [];
    let after: string | null = null;
    try {
      for (;;) {
        const pg: any = await ok(
          t.gql(
            `query($a: String, $w: [ID!]) { inventoryLevels(first: 2, after: $a, sortKey: SKU, filter: { warehouseIds: $w }) { pageInfo { hasNextPage endCursor } nodes { id } } }`,
            {
              a: after,
              w: [wh.id],
            },
          ),
        );
        seen.push(...pg.inventoryLevels.nodes.map((n: { id: string }) => n.id));
        if (!pg.inventoryLevels.pageInfo.hasNextPage) break;
        after = pg.inventoryLevels.pageInfo.endCursor;
      }
    } finally {
      writing = false;
      await writer;
    }
    expect(seen).toHaveLength(12);
    expect(new Set(seen).size).toBe(12);
  });
});
