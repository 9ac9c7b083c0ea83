/**
 * Allocation strategies, ship-to and reservation renewal (issue 22), over HTTP on a real gateway:
 * warehouse ship-to declarations, the store's default strategy and the per-request override,
 * shipTo, FEWEST_SPLITS under concurrent reservations on two instances (PostgreSQL), and every
 * answer of reservationExtend.
 */
import crypto from 'node:crypto';
import { loadConfig } from '../../src/config';
import { tuningEnv } from '../../src/config/tuning';
import { fromGlobalId, toGlobalId } from '../../src/graphql/ids';
import { createLogger } from '../../src/log';
import { startGateway, type Gateway } from '../../src/server';
import { sweepOnce } from '../../src/modules/reservations/expiry';
import { metricsText } from '../../src/observability/metrics';
import { createProduct, createTestStore, createWarehouse, setStock, stockedSku, uniq } from '../helpers/factories';
import { makeClient, ok, type GqlClient } from '../helpers/gql';
import { checkInvariants } from '../helpers/invariants';
import { pastInDatabase } from '../helpers/poll';
import { rng } from '../helpers/rng';
import { startTestServer, type TestServer } from '../helpers/server';

jest.setTimeout(180_000);

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ DATABASE_POOL_SIZE: '20', INVENTORY_TUNING: tuningEnv({ RESERVATION_TTL_MAX_SECONDS: 3600 }) });
});
afterAll(async () => {
  await t?.stop();
});

const RESERVE = `mutation($input: InventoryReserveInput!) { inventoryReserve(input: $input) {
  reservation { id expiresAt lines { quantity inventoryLevel { warehouse { code } } } } userErrors { code field message } } }`;
const EXTEND = `mutation($input: ReservationExtendInput!) { reservationExtend(input: $input) {
  reservation { id status expiresAt lines { status quantity } } userErrors { code field message } idempotentReplay } }`;
const WAREHOUSE_UPDATE = `mutation($id: ID!, $input: WarehouseInput!) { warehouseUpdate(id: $id, input: $input) {
  warehouse { code servesCountries servesZones } userErrors { code field } } }`;
const SETTINGS = `mutation($input: StoreSettingsInput!) { storeSettingsUpdate(input: $input) { settings { allocationStrategy } userErrors { code } } }`;

/** Warehouse code → units of a reservation's lines. */
function byWarehouse(res: { lines: { quantity: number; inventoryLevel: { warehouse: { code: string } } }[] }): Record<string, number> {
  const out: Record<string, number> = {};
  for (const l of res.lines) out[l.inventoryLevel.warehouse.code] = (out[l.inventoryLevel.warehouse.code] ?? 0) + l.quantity;
  return out;
}

async function reserve(gql: GqlClient, input: Record<string, unknown>) {
  return (await ok(gql(RESERVE, { input }))).inventoryReserve;
}

/** Warehouses with priorities 1..n and a product with `skus.length` variants, stocked as `stock[w][v]`. */
async function setup(stock: number[][], decl: Record<string, unknown>[] = []) {
  const whs = [];
  for (let w = 0; w < stock.length; w++) whs.push(await createWarehouse(t.gql, { priority: w + 1, ...(decl[w] ?? {}) }));
  const p = await createProduct(t.gql, { skus: stock[0].map(() => uniq('AL')) });
  for (let w = 0; w < stock.length; w++)
    for (let v = 0; v < stock[w].length; v++) await setStock(t.gql, p.skus[v], whs[w].code, stock[w][v]);
  return { whs, skus: p.skus };
}

describe('warehouse ship-to declarations', () => {
  test('countries (any case, stored upper case once) and zones are set on create, replaced on update, [] clears; bad ones are refused', async () => {
    const wh = await createWarehouse(t.gql, { servesCountries: ['de', 'AT', 'DE'], servesZones: ['NORDICS'] });
    const read = async () =>
      (await ok(t.gql(`query($c: String) { warehouse(code: $c) { servesCountries servesZones } }`, { c: wh.code }))).warehouse;
    expect(await read()).toEqual({ servesCountries: ['DE', 'AT'], servesZones: ['NORDICS'] });
    const up = (input: Record<string, unknown>) => ok(t.gql(WAREHOUSE_UPDATE, { id: wh.id, input }));
    expect((await up({ servesCountries: ['FR'] })).warehouseUpdate.warehouse).toMatchObject({
      servesCountries: ['FR'],
      servesZones: ['NORDICS'],
    });
    expect((await up({ name: 'renamed' })).warehouseUpdate.warehouse).toMatchObject({ servesCountries: ['FR'], servesZones: ['NORDICS'] });
    expect((await up({ servesCountries: [], servesZones: [] })).warehouseUpdate.warehouse).toMatchObject({
      servesCountries: [],
      servesZones: [],
    });
    const bad = (await up({ servesCountries: ['FR', 'XX', 'DEU'] })).warehouseUpdate;
    expect(bad.warehouse).toBeNull();
    expect(bad.userErrors).toEqual([
      { code: 'INVALID_INPUT', field: ['input', 'servesCountries', '1'] },
      { code: 'INVALID_INPUT', field: ['input', 'servesCountries', '2'] },
    ]);
    const many = (await up({ servesCountries: Array.from({ length: 251 }, () => 'DE') })).warehouseUpdate.userErrors;
    expect(many).toEqual([{ code: 'TOO_MANY_ITEMS', field: ['input', 'servesCountries'] }]);
    const zone = await t.gql(WAREHOUSE_UPDATE, { id: wh.id, input: { servesZones: ['MARS'] } });
    expect(zone.body.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
  });

  test('the declarations are private: publishable keys cannot read them', async () => {
    const wh = await createWarehouse(t.gql, { servesCountries: ['DE'] });
    const s = await stockedSku(t.gql, 1, wh);
    const pk = makeClient(t.url, await t.store.publishableKey());
    const q = (f: string) => `query($s: String) { variant(sku: $s) { inventoryLevels { nodes { warehouse { code ${f} } } } } }`;
    expect((await ok(pk(q(''), { s: s.sku }))).variant.inventoryLevels.nodes).toEqual([{ warehouse: { code: wh.code } }]);
    const r = await pk(q('servesCountries'), { s: s.sku });
    expect(r.body.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    expect(r.body.errors?.[0].message).toMatch(/Warehouse.servesCountries/);
  });
});

describe('allocation strategies', () => {
  test('PRIORITY, MOST_AVAILABLE and FEWEST_SPLITS per request; the store default is an admin setting', async () => {
    // W1 (first by priority): 5 of A, none of B; W2: 3 of A, 3 of B; W3: 9 of A, 4 of B.
    const { whs, skus } = await setup([
      [5, 0],
      [3, 3],
      [9, 4],
    ]);
    const [w1, w2, w3] = whs.map((w) => w.code);
    const cart = [
      { sku: skus[0], quantity: 2 },
      { sku: skus[1], quantity: 2 },
    ];
    const release = (id: string) =>
      ok(t.gql(`mutation($i: ID!) { reservationRelease(input: { reservationId: $i }) { userErrors { code } } }`, { i: id }));

    const pr = await reserve(t.gql, { lines: cart });
    expect(byWarehouse(pr.reservation)).toEqual({ [w1]: 2, [w2]: 2 });
    await release(pr.reservation.id);
    const ma = await reserve(t.gql, { lines: cart, allocationStrategy: 'MOST_AVAILABLE' });
    expect(byWarehouse(ma.reservation)).toEqual({ [w3]: 4 });
    await release(ma.reservation.id);
    const fs = await reserve(t.gql, { lines: cart, allocationStrategy: 'FEWEST_SPLITS' });
    expect(byWarehouse(fs.reservation)).toEqual({ [w2]: 4 });
    await release(fs.reservation.id);

    // The store's default: read by any reading key, changed by admin keys only.
    const reader = makeClient(t.url, await t.store.keyWith(['inventory:read', 'inventory:reserve']));
    expect((await ok(reader(`{ storeSettings { allocationStrategy } }`))).storeSettings).toEqual({ allocationStrategy: 'PRIORITY' });
    const denied = await reader(SETTINGS, { input: { allocationStrategy: 'FEWEST_SPLITS' } });
    expect(denied.body.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    const set = await ok(t.gql(SETTINGS, { input: { allocationStrategy: 'FEWEST_SPLITS' } }));
    expect(set.storeSettingsUpdate).toEqual({ settings: { allocationStrategy: 'FEWEST_SPLITS' }, userErrors: [] });
    try {
      const def = await reserve(reader, { lines: cart });
      expect(byWarehouse(def.reservation)).toEqual({ [w2]: 4 });
      const over = await reserve(reader, { lines: cart, allocationStrategy: 'PRIORITY' });
      // W2 has 1 of each left: PRIORITY splits B across W2 and W3.
      expect(byWarehouse(over.reservation)).toEqual({ [w1]: 2, [w2]: 1, [w3]: 1 });
    } finally {
      await ok(t.gql(SETTINGS, { input: { allocationStrategy: 'PRIORITY' } }));
    }
    // Another store keeps its own default.
    const other = await createTestStore(t.gateway.app);
    expect((await ok(makeClient(t.url, other.adminKey)(`{ storeSettings { allocationStrategy } }`))).storeSettings.allocationStrategy).toBe(
      'PRIORITY',
    );
  });

  test('shipTo: only warehouses that ship there; SHIP_TO_NOT_SERVED and INVALID_INPUT otherwise', async () => {
    const { whs, skus } = await setup(
      [[5], [5], [5]],
      [{ servesCountries: ['FR'] }, { servesZones: ['DACH'] }, { servesCountries: ['US'] }],
    );
    const [w1, w2] = whs.map((w) => w.code);
    const de = await reserve(t.gql, { lines: [{ sku: skus[0], quantity: 7 }], shipTo: { countryCode: 'at' } });
    expect(de.userErrors).toEqual([
      { code: 'INSUFFICIENT_STOCK', field: ['input', 'lines', '0', 'quantity'], message: 'Line 0: requested 7, only 5 available' },
    ]);
    // A one-line request that only one level could serve without shipTo is batched; with shipTo it is judged on the serving ones.
    const one = await reserve(t.gql, { lines: [{ sku: skus[0], quantity: 4 }], shipTo: { countryCode: 'CH' } });
    expect(byWarehouse(one.reservation)).toEqual({ [w2]: 4 });
    const jp = await reserve(t.gql, { lines: [{ sku: skus[0], quantity: 1 }], shipTo: { countryCode: 'JP' } });
    expect(jp.userErrors.map((e: { code: string }) => e.code)).toEqual(['SHIP_TO_NOT_SERVED']);
    const named = await reserve(t.gql, { lines: [{ sku: skus[0], warehouseCode: w1, quantity: 1 }], shipTo: { countryCode: 'DE' } });
    expect(named.userErrors).toEqual([
      {
        code: 'SHIP_TO_NOT_SERVED',
        field: ['input', 'lines', '0', 'warehouseCode'],
        message: `Line 0: warehouse ${w1} does not ship to DE`,
      },
    ]);
    const bad = await reserve(t.gql, { lines: [{ sku: skus[0], quantity: 1 }], shipTo: { countryCode: 'XX' } });
    expect(bad.userErrors.map((e: { field: string[] }) => e.field)).toEqual([['input', 'shipTo', 'countryCode']]);
    // An undeclared warehouse ships everywhere.
    const open = await createWarehouse(t.gql, { priority: 99 });
    await setStock(t.gql, skus[0], open.code, 2);
    const jp2 = await reserve(t.gql, { lines: [{ sku: skus[0], quantity: 2 }], shipTo: { countryCode: 'JP' } });
    expect(byWarehouse(jp2.reservation)).toEqual({ [open.code]: 2 });
    expect(await checkInvariants(t.gateway.app, t.store.storeId)).toEqual({
      ledger: [],
      reservedLedger: [],
      bounds: [],
      reservedVsLines: [],
      dupKeys: [],
    });
  });
});

test('FEWEST_SPLITS under 160 concurrent carts on two instances: no cart is split (one warehouse always suffices), totals exact', async () => {
  // W1 (first by priority) has only A: PRIORITY would take A there and B elsewhere. W2..W4 hold as
  // many A as B and every cart takes one A and one B, so while any B is left one warehouse can
  // fill a cart: every granted cart must come from one of W2..W4, and exactly sum(B) carts are granted.
  const bs = [0, 30, 25, 20];
  const { whs, skus } = await setup(bs.map((b, w) => [w === 0 ? 500 : b, b]));
  const second: Gateway | null = t.config.databaseUrl
    ? await startGateway(
        loadConfig({
          NODE_ENV: 'test',
          PORT: '0',
          HOST: '127.0.0.1',
          SEED_DEMO: 'never',
          LOG_LEVEL: 'error',
          DATABASE_URL: t.config.databaseUrl,
        }),
        createLogger('error'),
      )
    : null;
  try {
    const clients = [t.gql, second ? makeClient(second.url, t.store.adminKey) : t.gql];
    const rand = rng(22);
    const carts = Array.from({ length: 160 }, (_, i) => {
      const lines = [
        { sku: skus[0], quantity: 1 },
        { sku: skus[1], quantity: 1 },
      ];
      const input = { lines: rand() < 0.5 ? lines : lines.reverse(), allocationStrategy: 'FEWEST_SPLITS', idempotencyKey: uniq('cart') };
      return (async () => {
        // As a client must: a retryable answer (a loaded machine) is retried with the same key, which
        // applies the reservation at most once.
        for (let attempt = 0; ; attempt++) {
          const r = await clients[i % 2](RESERVE, { input });
          const retry = r.body.errors?.every((e: { extensions?: { code?: string } }) => e.extensions?.code === 'UNAVAILABLE');
          if (!retry || attempt >= 5) return r;
          await new Promise((res) => setTimeout(res, 200 * (attempt + 1)));
        }
      })();
    });
    const out = (await Promise.all(carts)).map((r) => {
      expect(r.body.errors).toBeUndefined();
      return r.body.data.inventoryReserve;
    });
    const granted = out.filter((p) => p.reservation);
    expect(granted).toHaveLength(75);
    for (const p of out.filter((x) => !x.reservation)) expect(p.userErrors[0].code).toBe('INSUFFICIENT_STOCK');
    const perWarehouse: Record<string, number> = {};
    for (const p of granted) {
      const w = byWarehouse(p.reservation);
      expect(Object.keys(w)).toHaveLength(1);
      expect(Object.keys(w)[0]).not.toBe(whs[0].code);
      perWarehouse[Object.keys(w)[0]] = (perWarehouse[Object.keys(w)[0]] ?? 0) + 1;
    }
    expect(perWarehouse).toEqual({ [whs[1].code]: 30, [whs[2].code]: 25, [whs[3].code]: 20 });
    const levels = await t.gateway.app.db.pool.query(
      `SELECT w.code, v.sku, l.on_hand, l.reserved FROM inventory_levels l JOIN warehouses w ON w.id = l.warehouse_id JOIN variants v ON v.id = l.variant_id
        WHERE v.sku = ANY($1) ORDER BY w.priority, v.sku`,
      [skus],
    );
    for (const r of levels.rows) expect(r.reserved).toBe(r.code === whs[0].code ? 0 : r.on_hand);
    expect(await checkInvariants(t.gateway.app, t.store.storeId)).toEqual({
      ledger: [],
      reservedLedger: [],
      bounds: [],
      reservedVsLines: [],
      dupKeys: [],
    });
  } finally {
    await second?.stop();
  }
});

describe('reservationExtend', () => {
  const extend = (input: Record<string, unknown>, gql = t.gql) => ok(gql(EXTEND, { input })).then((d) => d.reservationExtend);

  test('renews an active hold (never shortening it), past its first expiry; idempotent with a key', async () => {
    const s = await stockedSku(t.gql, 10);
    const r = (await reserve(t.gql, { lines: [{ sku: s.sku, quantity: 3 }], ttlSeconds: 3 })).reservation;
    const reserver = makeClient(t.url, await t.store.keyWith(['inventory:reserve']));
    const key = uniq('ext');
    const e = await extend({ reservationId: r.id, ttlSeconds: 600, idempotencyKey: key }, reserver);
    expect(e.userErrors).toEqual([]);
    expect(e.idempotentReplay).toBe(false);
    expect(Date.parse(e.reservation.expiresAt) - Date.parse(r.expiresAt)).toBeGreaterThan(590_000);
    expect(e.reservation.lines).toEqual([{ status: 'ACTIVE', quantity: 3 }]);
    expect(await metricsText()).toMatch(/inventory_reservations_total\{event="extended"\} [1-9]/);
    const again = await extend({ reservationId: r.id, ttlSeconds: 600, idempotencyKey: key }, reserver);
    expect(again).toEqual({ ...e, idempotentReplay: true });
    const reused = await extend({ reservationId: r.id, ttlSeconds: 700, idempotencyKey: key }, reserver);
    expect(reused.userErrors.map((x: { code: string }) => x.code)).toEqual(['IDEMPOTENCY_KEY_REUSED']);
    const shorter = await extend({ reservationId: r.id, ttlSeconds: 5 });
    expect(shorter.reservation.expiresAt).toBe(e.reservation.expiresAt);
    // Past the first expiry, after a sweep: still held.
    await pastInDatabase(t.gateway.app.db.pool, r.expiresAt);
    await sweepOnce(t.gateway.app);
    const now = await ok(
      t.gql(`query($id: ID!, $s: String) { reservation(id: $id) { status } variant(sku: $s) { totalReserved } }`, { id: r.id, s: s.sku }),
    );
    expect(now).toEqual({ reservation: { status: 'ACTIVE' }, variant: { totalReserved: 3 } });
    const moves = await t.gateway.app.db.pool.query(`SELECT count(*)::int AS n FROM stock_movements WHERE reservation_id = $1`, [
      fromGlobalId(r.id)!.id,
    ]);
    expect(moves.rows[0].n).toBe(1);
  });

  test('INVALID_TTL beyond the configured maximum or below 1', async () => {
    const s = await stockedSku(t.gql, 2);
    const r = (await reserve(t.gql, { lines: [{ sku: s.sku, quantity: 1 }] })).reservation;
    for (const ttl of [3601, 0, -5]) {
      const e = await extend({ reservationId: r.id, ttlSeconds: ttl });
      expect(e).toMatchObject({ reservation: null, userErrors: [{ code: 'INVALID_TTL', field: ['input', 'ttlSeconds'] }] });
      expect(e.userErrors[0].message).toBe('ttlSeconds must be between 1 and 3600');
    }
  });

  test('RESERVATION_NOT_FOUND for an unknown id, a malformed id and another store’s reservation', async () => {
    const s = await stockedSku(t.gql, 2);
    const r = (await reserve(t.gql, { lines: [{ sku: s.sku, quantity: 1 }] })).reservation;
    const other = makeClient(t.url, (await createTestStore(t.gateway.app)).adminKey);
    const unknown = toGlobalId('Reservation', crypto.randomUUID());
    for (const [id, gql] of [
      [unknown, t.gql],
      ['nonsense', t.gql],
      [r.id, other],
    ] as const) {
      const e = await extend({ reservationId: id, ttlSeconds: 60 }, gql);
      expect(e).toMatchObject({ reservation: null, userErrors: [{ code: 'RESERVATION_NOT_FOUND', field: ['input', 'reservationId'] }] });
    }
  });

  test('RESERVATION_NOT_ACTIVE once released or committed; RESERVATION_EXPIRED once expired (swept or not)', async () => {
    const s = await stockedSku(t.gql, 10);
    const settle = (m: string, id: string) =>
      ok(t.gql(`mutation($i: ID!) { ${m}(input: { reservationId: $i }) { userErrors { code } } }`, { i: id }));
    const released = (await reserve(t.gql, { lines: [{ sku: s.sku, quantity: 1 }] })).reservation;
    await settle('reservationRelease', released.id);
    const committed = (await reserve(t.gql, { lines: [{ sku: s.sku, quantity: 1 }] })).reservation;
    await settle('reservationCommit', committed.id);
    for (const id of [released.id, committed.id]) {
      const e = await extend({ reservationId: id, ttlSeconds: 60 });
      expect(e).toMatchObject({ reservation: null, userErrors: [{ code: 'RESERVATION_NOT_ACTIVE', field: ['input', 'reservationId'] }] });
    }
    const expiring = (await reserve(t.gql, { lines: [{ sku: s.sku, quantity: 2 }], ttlSeconds: 1 })).reservation;
    await pastInDatabase(t.gateway.app.db.pool, expiring.expiresAt);
    const due = await extend({ reservationId: expiring.id, ttlSeconds: 60 });
    expect(due).toMatchObject({ reservation: null, userErrors: [{ code: 'RESERVATION_EXPIRED', field: ['input', 'reservationId'] }] });
    await sweepOnce(t.gateway.app);
    const swept = await extend({ reservationId: expiring.id, ttlSeconds: 60 });
    expect(swept.userErrors.map((x: { code: string }) => x.code)).toEqual(['RESERVATION_EXPIRED']);
    const lv = await ok(t.gql(`query($s: String) { variant(sku: $s) { totalReserved totalAvailable } }`, { s: s.sku }));
    expect(lv.variant).toEqual({ totalReserved: 0, totalAvailable: 9 });
  });

  test('publishable keys cannot extend; keys without inventory:reserve neither', async () => {
    const s = await stockedSku(t.gql, 2);
    const r = (await reserve(t.gql, { lines: [{ sku: s.sku, quantity: 1 }] })).reservation;
    const pk = makeClient(t.url, await t.store.publishableKey());
    const reader = makeClient(t.url, await t.store.keyWith(['inventory:read']));
    for (const gql of [pk, reader]) {
      const res = await gql(EXTEND, { input: { reservationId: r.id, ttlSeconds: 60 } });
      expect(res.body.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    }
  });
});

test('reservationExtend under concurrency: racing extends, a release and expiring holds never lose or double a hold', async () => {
  // Per round: one hold of 2 units, 20 extends with seeded TTLs racing one release (and, for a hold
  // about to expire, the expiry itself). Every extend either applies or answers why not; the hold
  // ends released (or expired) with its units back, or active until the longest TTL asked.
  const rand = rng(2211);
  const s = await stockedSku(t.gql, 200);
  const settle = (id: string) =>
    ok(
      t.gql(`mutation($input: ReservationSettleInput!) { reservationRelease(input: $input) { userErrors { code } } }`, {
        input: { reservationId: id },
      }),
    );
  for (let round = 0; round < 6; round++) {
    const short = round % 3 === 2;
    const r = (await reserve(t.gql, { lines: [{ sku: s.sku, quantity: 2 }], ttlSeconds: short ? 1 : 600 })).reservation;
    const ttls = Array.from({ length: 20 }, () => 600 + Math.floor(rand() * 1200));
    const releaseAt = Math.floor(rand() * 20);
    const ops = ttls.map((ttl, i) =>
      i === releaseAt && round % 2 === 0
        ? settle(r.id).then((d) => ({ kind: 'release', codes: d.reservationRelease.userErrors.map((e: { code: string }) => e.code) }))
        : ok(t.gql(EXTEND, { input: { reservationId: r.id, ttlSeconds: ttl } })).then((d) => ({
            kind: 'extend',
            codes: d.reservationExtend.userErrors.map((e: { code: string }) => e.code),
            ttl,
          })),
    );
    const results = await Promise.all(ops);
    for (const x of results) expect(['', 'RESERVATION_NOT_ACTIVE', 'RESERVATION_EXPIRED']).toContain(x.codes.join());
    const now = await ok(t.gql(`query($id: ID!) { reservation(id: $id) { status expiresAt lines { status quantity } } }`, { id: r.id }));
    const released = results.some((x) => x.kind === 'release' && x.codes.length === 0);
    const applied = results.flatMap((x) => ('ttl' in x && x.codes.length === 0 ? [x.ttl as number] : []));
    if (released) {
      // Extends that came after the release's commit were refused; the units are back.
      expect(now.reservation.status).toBe('RELEASED');
    } else if (applied.length > 0) {
      // Never shortened: the hold lasts at least as long as the longest applied TTL from its creation.
      expect(now.reservation.status).toBe('ACTIVE');
      const longest = Math.max(...applied);
      expect(Date.parse(now.reservation.expiresAt) - Date.parse(r.expiresAt)).toBeGreaterThanOrEqual(
        (longest - (short ? 1 : 600)) * 1000 - 5_000,
      );
      expect(now.reservation.lines).toEqual([{ status: 'ACTIVE', quantity: 2 }]);
    } else {
      // Only a 1-second hold may have expired before the first extend reached it.
      expect(short).toBe(true);
      expect(results.filter((x) => x.kind === 'extend').every((x) => x.codes.join() === 'RESERVATION_EXPIRED')).toBe(true);
    }
  }
  await sweepOnce(t.gateway.app);
  expect(await checkInvariants(t.gateway.app, t.store.storeId)).toMatchObject({
    ledger: [],
    reservedLedger: [],
    bounds: [],
    reservedVsLines: [],
  });
});
