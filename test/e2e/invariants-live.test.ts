/**
 * The invariants hold at every moment, not only at rest: while a seeded random mix of every kind
 * of write runs over HTTP (adjust, set, move, settings, bulk, one- and multi-line reserves, release,
 * commit, expiry), a checker takes consistent snapshots and verifies in each that product totals
 * equal the sum of their levels, the summary equals a count of the rows, and every level's ledger
 * is an unbroken chain to its current counters (every change of available has a movement).
 */
import { createProduct, createTestStore, createWarehouse, setStock } from '../helpers/factories';
import { makeClient, ok, type GqlClient } from '../helpers/gql';
import { checkInvariants, snapshotInvariants } from '../helpers/invariants';
import { startTestServer, type TestServer } from '../helpers/server';
import { eventually, pastInDatabase } from '../helpers/poll';
import { rng } from '../helpers/rng';
import { tuningEnv } from '../../src/config/tuning';

jest.setTimeout(180_000);

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ INVENTORY_TUNING: tuningEnv({ SWEEP_INTERVAL_MS: 100 }) });
});
afterAll(async () => {
  await t?.stop();
});

const Q = {
  adjust: `mutation($i: InventoryAdjustInput!) { inventoryAdjust(input: $i) { userErrors { code } } }`,
  set: `mutation($i: InventorySetInput!) { inventorySet(input: $i) { userErrors { code } } }`,
  move: `mutation($i: InventoryMoveInput!) { inventoryMove(input: $i) { userErrors { code } } }`,
  settings: `mutation($i: InventoryLevelUpdateInput!) { inventoryLevelUpdate(input: $i) { userErrors { code } } }`,
  bulk: `mutation($i: InventoryBulkUpdateInput!) { inventoryBulkUpdate(input: $i) { userErrors { code } } }`,
  reserve: `mutation($i: InventoryReserveInput!) { inventoryReserve(input: $i) { reservation { id } userErrors { code } } }`,
  release: `mutation($i: ReservationSettleInput!) { reservationRelease(input: $i) { userErrors { code } } }`,
  commit: `mutation($i: ReservationSettleInput!) { reservationCommit(input: $i) { userErrors { code } } }`,
  inbound: `mutation($i: InboundShipmentCreateInput!) { inboundShipmentCreate(input: $i) { inboundShipment { id } userErrors { code } } }`,
  receive: `mutation($i: InboundShipmentReceiveInput!) { inboundShipmentReceive(input: $i) { userErrors { code } } }`,
  ship: `mutation($i: InventoryTransferShipInput!) { inventoryTransferShip(input: $i) { inventoryTransfer { id } userErrors { code } } }`,
  arrive: `mutation($i: InventoryTransferReceiveInput!) { inventoryTransferReceive(input: $i) { userErrors { code } } }`,
};

test('product totals, the summary and the ledger chain hold in every snapshot taken during concurrent writes', async () => {
  const store = await createTestStore(t.gateway.app);
  const gql: GqlClient = makeClient(t.url, store.adminKey);
  const whs = [await createWarehouse(gql), await createWarehouse(gql)];
  const skus: string[] = [];
  for (let i = 0; i < 3; i++)
    skus.push(...(await createProduct(gql, { skus: [`INV-${i}-a-${Date.now()}`, `INV-${i}-b-${Date.now()}`] })).skus);
  for (const sku of skus) for (const w of whs) await setStock(gql, sku, w.code, 20);

  const rand = rng(4242);
  const pick = <T>(a: T[]) => a[Math.floor(rand() * a.length)];
  const held: string[] = [];
  let writing = true;
  let ops = 0;
  const worker = async () => {
    for (let i = 0; i < 30; i++) {
      const sku = pick(skus);
      const w = pick(whs).code;
      const r = rand();
      if (r < 0.15) await ok(gql(Q.adjust, { i: { sku, warehouseCode: w, delta: rand() < 0.5 ? 3 : -2, reason: 'CORRECTION' } }));
      else if (r < 0.22) await ok(gql(Q.set, { i: { sku, warehouseCode: w, quantity: 10 + Math.floor(rand() * 20) } }));
      else if (r < 0.26) await ok(gql(Q.move, { i: { sku, fromWarehouseCode: whs[0].code, toWarehouseCode: whs[1].code, quantity: 1 } }));
      else if (r < 0.3) {
        // A transfer in transit, received in part (issue 22).
        const d = await ok(
          gql(Q.ship, { i: { fromWarehouseCode: whs[1].code, toWarehouseCode: whs[0].code, lines: [{ sku, quantity: 2 }] } }),
        );
        const id = d.inventoryTransferShip.inventoryTransfer?.id;
        if (id) await ok(gql(Q.arrive, { i: { id, lines: [{ sku, quantity: 1 }] } }));
      } else if (r < 0.4)
        await ok(
          gql(Q.settings, {
            i: {
              sku,
              warehouseCode: w,
              safetyStock: Math.floor(rand() * 4),
              lowStockThreshold: Math.floor(rand() * 15),
              incoming: Math.floor(rand() * 9),
            },
          }),
        );
      else if (r < 0.47)
        await ok(
          gql(Q.bulk, {
            i: {
              errorPolicy: 'REJECT_FAILED_ROWS',
              items: [
                { sku, warehouseCode: w, delta: 1 },
                { mode: 'SET', sku: pick(skus), warehouseCode: w, quantity: 15 },
              ],
            },
          }),
        );
      else if (r < 0.52) {
        // An inbound shipment, received in part (issue 22).
        const d = await ok(gql(Q.inbound, { i: { reference: `PO-${ops}-${rand()}`, lines: [{ sku, warehouseCode: w, quantity: 4 }] } }));
        const id = d.inboundShipmentCreate.inboundShipment.id;
        await ok(gql(Q.receive, { i: { id, lines: [{ sku, warehouseCode: w, quantity: 1 + Math.floor(rand() * 4) }] } }));
      } else if (r < 0.75) {
        const lines =
          rand() < 0.5
            ? [{ sku, quantity: 1 + Math.floor(rand() * 3) }]
            : [
                { sku, quantity: 1 },
                { sku: pick(skus), quantity: 2 },
              ];
        const d = await ok(gql(Q.reserve, { i: { lines, ttlSeconds: rand() < 0.3 ? 1 : 60 } }));
        if (d.inventoryReserve.reservation) held.push(d.inventoryReserve.reservation.id);
      } else if (held.length) {
        const id = held.splice(Math.floor(rand() * held.length), 1)[0];
        await ok(gql(rand() < 0.5 ? Q.release : Q.commit, { i: { reservationId: id } }));
      }
      ops++;
    }
  };
  const snapshots: Awaited<ReturnType<typeof snapshotInvariants>>[] = [];
  const checker = (async () => {
    while (writing) {
      snapshots.push(await snapshotInvariants(t.gateway.app, store.storeId));
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  await Promise.all(Array.from({ length: 8 }, () => worker()));
  writing = false;
  await checker;
  // Let due reservations expire (the sweeper writes EXPIRY movements) and check once more at rest:
  // until the holds of 1 s made before now are due by the database's clock, and the sweeper has
  // expired every due line.
  const { pool } = t.gateway.app.db;
  const stoppedAt: string = (await pool.query(`SELECT (now() + interval '1 second')::text AS at`)).rows[0].at;
  await pastInDatabase(pool, stoppedAt);
  await eventually(
    'the sweeper to expire every due hold',
    async () =>
      (await pool.query(`SELECT NOT EXISTS (SELECT 1 FROM reservation_lines WHERE status = 'ACTIVE' AND expires_at <= now()) AS done`))
        .rows[0].done,
  );
  snapshots.push(await snapshotInvariants(t.gateway.app, store.storeId));

  expect(ops).toBe(240);
  expect(snapshots.length).toBeGreaterThanOrEqual(5);
  for (const s of snapshots)
    expect({ productTotals: s.productTotals, summary: s.summary, ledgerChain: s.ledgerChain, incoming: s.incoming }).toEqual({
      productTotals: [],
      summary: [],
      ledgerChain: [],
      incoming: [],
    });
  expect(snapshots.at(-1)!.movements).toBeGreaterThan(100);
  expect(await checkInvariants(t.gateway.app, store.storeId)).toEqual({
    ledger: [],
    reservedLedger: [],
    bounds: [],
    reservedVsLines: [],
    dupKeys: [],
  });

  // At rest, over HTTP: each product's totals equal the sum of its levels read through the API.
  const d = await ok(
    gql(
      `{ products(first: 10) { nodes { totals { onHand reserved available incoming } variants(first: 5) { nodes { inventoryLevels(first: 5) { nodes { onHand reserved available incoming } } } } } } }`,
    ),
  );
  for (const p of d.products.nodes) {
    const levels = p.variants.nodes.flatMap((v: { inventoryLevels: { nodes: Record<string, number>[] } }) => v.inventoryLevels.nodes);
    const sum = (k: string) => String(levels.reduce((a: number, l: Record<string, number>) => a + l[k], 0));
    expect(p.totals).toEqual({ onHand: sum('onHand'), reserved: sum('reserved'), available: sum('available'), incoming: sum('incoming') });
  }
});
