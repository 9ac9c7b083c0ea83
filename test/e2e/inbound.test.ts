/**
 * Issue 22, inbound shipments and transfers in transit: incoming is derived (open inbound lines +
 * units in transit), receipts and transfers change counters only through the stock writer, with
 * ledger rows and events; every operation and error code, reads with filters, DataLoaders (a
 * constant number of statements), concurrency (never over-receive; units conserved exactly), and
 * the backorder policies with it (PREORDER sells against the derived incoming; a transfer ships only
 * units on hand).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { importInboundCsv } from '../../src/modules/csv/inbound-import.service';
import { usingPostgres } from '../helpers/db';
import { createProduct, createWarehouse, setStock, uniq } from '../helpers/factories';
import { runCli } from '../helpers/process';
import { makeClient, ok } from '../helpers/gql';
import { checkInvariants, incomingInvariants, unitsOnHandAndInTransit } from '../helpers/invariants';
import { eventually } from '../helpers/poll';
import { oneMoreSubscriber, startTestServer, type TestServer } from '../helpers/server';
import { subscribe } from '../helpers/ws';

jest.setTimeout(120_000);

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.stop();
});

type UE = { code: string; field: string[] | null; message: string };
const LEVEL = `id onHand reserved available incoming inTransit`;
const SHIPMENT = `id reference source status manual expectedAt lines { id quantity receivedQuantity cancelledQuantity openQuantity
  variant { sku } warehouse { code } inventoryLevel { ${LEVEL} } }`;
const TRANSFER = `id reference status fromWarehouse { code } toWarehouse { code } lines { id quantity receivedQuantity lostQuantity inTransitQuantity lostReason
  variant { sku } sourceLevel { ${LEVEL} } destinationLevel { ${LEVEL} } }`;
const ship = (op: string, input: string) =>
  `mutation($input: ${input}!) { ${op}(input: $input) { inboundShipment { ${SHIPMENT} } idempotentReplay userErrors { code field message } } }`;
const tr = (op: string, input: string) =>
  `mutation($input: ${input}!) { ${op}(input: $input) { inventoryTransfer { ${TRANSFER} } idempotentReplay userErrors { code field message } } }`;
const CREATE = ship('inboundShipmentCreate', 'InboundShipmentCreateInput');
const UPDATE = ship('inboundShipmentUpdate', 'InboundShipmentUpdateInput');
const CANCEL = ship('inboundShipmentCancel', 'InboundShipmentCancelInput');
const RECEIVE = ship('inboundShipmentReceive', 'InboundShipmentReceiveInput');
const SHIP = tr('inventoryTransferShip', 'InventoryTransferShipInput');
const TRECEIVE = tr('inventoryTransferReceive', 'InventoryTransferReceiveInput');
const WRITEOFF = tr('inventoryTransferWriteOff', 'InventoryTransferWriteOffInput');

async function m<T = any>(query: string, input: Record<string, unknown>, gql = t.gql): Promise<T & { userErrors: UE[] }> {
  const d = await ok(gql(query, { input }));
  return Object.values(d)[0] as T & { userErrors: UE[] };
}
const codes = (r: { userErrors: UE[] }) => r.userErrors.map((e) => e.code);

async function level(sku: string, wh: string) {
  const d = await ok(
    t.gql(`query($s: String!) { variant(sku: $s) { inventoryLevels(first: 20) { nodes { ${LEVEL} warehouse { code } } } } }`, { s: sku }),
  );
  return d.variant.inventoryLevels.nodes.find((n: any) => n.warehouse.code === wh) as {
    onHand: number;
    incoming: number;
    available: number;
  };
}

async function sound() {
  expect(await checkInvariants(t.gateway.app, t.store.storeId)).toEqual({
    ledger: [],
    reservedLedger: [],
    bounds: [],
    reservedVsLines: [],
    dupKeys: [],
  });
  expect(await incomingInvariants(t.gateway.app, t.store.storeId)).toEqual({
    incomingDrift: [],
    ledgerIncoming: [],
    transferConservation: [],
  });
}

async function setup(stock = 0) {
  const wh = await createWarehouse(t.gql);
  const p = await createProduct(t.gql, { skus: [uniq('IN'), uniq('IN')] });
  if (stock) for (const sku of p.skus) await setStock(t.gql, sku, wh.code, stock);
  return { wh: wh.code, whId: wh.id, skus: p.skus };
}

describe('inbound shipments', () => {
  test('create raises incoming (INBOUND_EXPECTED); partial and repeated receipts raise onHand and lower incoming in one RECEIVED change naming the shipment', async () => {
    const { wh, skus } = await setup(5);
    const ref = uniq('PO');
    const c = await m(CREATE, {
      reference: ref,
      source: 'ACME',
      expectedAt: '2030-01-01T00:00:00.000Z',
      lines: [
        { sku: skus[0], warehouseCode: wh, quantity: 10 },
        { sku: skus[1], warehouseCode: wh, quantity: 4 },
      ],
    });
    expect(c.userErrors).toEqual([]);
    expect(c.inboundShipment).toMatchObject({ reference: ref, source: 'ACME', status: 'OPEN', manual: false });
    expect(c.inboundShipment.lines[0].inventoryLevel).toMatchObject({ onHand: 5, incoming: 10 });
    const id = c.inboundShipment.id;
    const r1 = await m(RECEIVE, { id, lines: [{ sku: skus[0], warehouseCode: wh, quantity: 3 }] });
    expect(r1.userErrors).toEqual([]);
    expect(r1.inboundShipment.status).toBe('PARTIALLY_RECEIVED');
    expect(r1.inboundShipment.lines[0]).toMatchObject({ receivedQuantity: 3, openQuantity: 7, inventoryLevel: { onHand: 8, incoming: 7 } });
    const r2 = await m(RECEIVE, {
      id,
      lines: [
        { lineId: c.inboundShipment.lines[0].id, quantity: 7 },
        { sku: skus[1], warehouseCode: wh, quantity: 4 },
      ],
    });
    expect(r2.userErrors).toEqual([]);
    expect(r2.inboundShipment.status).toBe('RECEIVED');
    expect(await level(skus[0], wh)).toMatchObject({ onHand: 15, incoming: 0 });
    const { rows } = await t.gateway.app.db.pool.query(
      `SELECT m.reason::text, m.quantity_delta, m.incoming_before, m.incoming_after, m.inbound_shipment_id IS NOT NULL AS named
         FROM stock_movements m JOIN inventory_levels l ON l.id = m.inventory_level_id JOIN variants v ON v.id = l.variant_id
        WHERE v.sku = $1 ORDER BY m.id`,
      [skus[0]],
    );
    expect(rows.slice(1)).toEqual([
      { reason: 'INBOUND_EXPECTED', quantity_delta: 0, incoming_before: 0, incoming_after: 10, named: true },
      { reason: 'RECEIVED', quantity_delta: 3, incoming_before: 10, incoming_after: 7, named: true },
      { reason: 'RECEIVED', quantity_delta: 7, incoming_before: 7, incoming_after: 0, named: true },
    ]);
    // A received shipment takes nothing more.
    expect(codes(await m(RECEIVE, { id, lines: [{ sku: skus[1], warehouseCode: wh, quantity: 1 }] }))).toEqual(['INBOUND_SHIPMENT_CLOSED']);
    await sound();
  });

  test('over-receiving is OVER_RECEIPT unless allowOverReceipt; a keyed receipt replays; unknown lines and shipments are refused', async () => {
    const { wh, skus } = await setup();
    const c = await m(CREATE, { reference: uniq('PO'), lines: [{ sku: skus[0], warehouseCode: wh, quantity: 5 }] });
    const id = c.inboundShipment.id;
    const over = await m(RECEIVE, { id, lines: [{ sku: skus[0], warehouseCode: wh, quantity: 6 }] });
    expect(over.userErrors).toEqual([
      { code: 'OVER_RECEIPT', field: ['input', 'lines', '0', 'quantity'], message: expect.stringContaining('5') },
    ]);
    expect(await level(skus[0], wh)).toMatchObject({ onHand: 0, incoming: 5 });
    const key = uniq('k');
    const ok1 = await m(RECEIVE, {
      id,
      lines: [{ sku: skus[0], warehouseCode: wh, quantity: 6 }],
      allowOverReceipt: true,
      idempotencyKey: key,
    });
    expect(ok1.userErrors).toEqual([]);
    expect(ok1.inboundShipment.lines[0]).toMatchObject({ receivedQuantity: 6, openQuantity: 0 });
    const again = await m(RECEIVE, {
      id,
      lines: [{ sku: skus[0], warehouseCode: wh, quantity: 6 }],
      allowOverReceipt: true,
      idempotencyKey: key,
    });
    expect(again.idempotentReplay).toBe(true);
    expect(await level(skus[0], wh)).toMatchObject({ onHand: 6, incoming: 0 });
    const c2 = await m(CREATE, { reference: uniq('PO'), lines: [{ sku: skus[0], warehouseCode: wh, quantity: 5 }] });
    expect(codes(await m(RECEIVE, { id: c2.inboundShipment.id, lines: [{ sku: skus[1], warehouseCode: wh, quantity: 1 }] }))).toEqual([
      'INVENTORY_NOT_FOUND',
    ]);
    await setStock(t.gql, skus[1], wh, 0);
    expect(codes(await m(RECEIVE, { id: c2.inboundShipment.id, lines: [{ sku: skus[1], warehouseCode: wh, quantity: 1 }] }))).toEqual([
      'INBOUND_LINE_NOT_FOUND',
    ]);
    const n = await ok(t.gql(`query($id: ID!) { node(id: $id) { id ... on InboundShipment { reference } } }`, { id }));
    expect(n.node).toEqual({ id, reference: c.inboundShipment.reference });
    expect(codes(await m(RECEIVE, { id: 'nope', lines: [{ sku: skus[0], warehouseCode: wh, quantity: 1 }] }))).toEqual([
      'INBOUND_SHIPMENT_NOT_FOUND',
    ]);
    expect(codes(await m(RECEIVE, { id: c2.inboundShipment.id, lines: [{ sku: skus[0], warehouseCode: wh, quantity: 0 }] }))).toEqual([
      'NEGATIVE_QUANTITY',
    ]);
    await sound();
  });

  test('create refuses bad input; update changes quantities (not below received); cancel withdraws what is open', async () => {
    const { wh, skus } = await setup();
    const ref = uniq('PO');
    expect(codes(await m(CREATE, { reference: ref, lines: [] }))).toEqual(['INVALID_INPUT']);
    expect(codes(await m(CREATE, { reference: '', lines: [{ sku: skus[0], warehouseCode: wh, quantity: 1 }] }))).toEqual(['INVALID_INPUT']);
    expect(codes(await m(CREATE, { reference: ref, lines: [{ sku: 'no-such', warehouseCode: wh, quantity: 1 }] }))).toEqual([
      'VARIANT_NOT_FOUND',
    ]);
    const dup = [
      { sku: skus[0], warehouseCode: wh, quantity: 1 },
      { sku: skus[0], warehouseCode: wh, quantity: 2 },
    ];
    expect(codes(await m(CREATE, { reference: ref, lines: dup }))).toEqual(['INVALID_INPUT']);
    const c = await m(CREATE, { reference: ref, lines: [{ sku: skus[0], warehouseCode: wh, quantity: 8 }] });
    expect(c.userErrors).toEqual([]);
    expect(codes(await m(CREATE, { reference: ref, lines: [{ sku: skus[0], warehouseCode: wh, quantity: 1 }] }))).toEqual(['TAKEN']);
    const id = c.inboundShipment.id;
    await m(RECEIVE, { id, lines: [{ sku: skus[0], warehouseCode: wh, quantity: 3 }] });
    expect(codes(await m(UPDATE, { id, lines: [{ sku: skus[0], warehouseCode: wh, quantity: 2 }] }))).toEqual(['QUANTITY_BELOW_RECEIVED']);
    const u = await m(UPDATE, {
      id,
      source: 'Other',
      lines: [
        { sku: skus[0], warehouseCode: wh, quantity: 4 },
        { sku: skus[1], warehouseCode: wh, quantity: 9 },
      ],
    });
    expect(u.userErrors).toEqual([]);
    expect(u.inboundShipment.source).toBe('Other');
    expect(await level(skus[0], wh)).toMatchObject({ onHand: 3, incoming: 1 });
    expect(await level(skus[1], wh)).toMatchObject({ onHand: 0, incoming: 9 });
    const x = await m(CANCEL, { id, note: 'supplier gave up' });
    expect(x.userErrors).toEqual([]);
    expect(x.inboundShipment.status).toBe('CANCELLED');
    expect(await level(skus[0], wh)).toMatchObject({ onHand: 3, incoming: 0 });
    expect(await level(skus[1], wh)).toMatchObject({ incoming: 0 });
    expect(codes(await m(CANCEL, { id }))).toEqual(['INBOUND_SHIPMENT_CLOSED']);
    expect(codes(await m(UPDATE, { id, note: 'x' }))).toEqual(['INBOUND_SHIPMENT_CLOSED']);
    expect(codes(await m(CANCEL, { id: 'bad' }))).toEqual(['INBOUND_SHIPMENT_NOT_FOUND']);
    await sound();
  });

  test('the deprecated inventoryLevelUpdate(incoming) is recorded as a manual inbound line, never below what shipments bring', async () => {
    const { wh, skus } = await setup(2);
    const LU = `mutation($input: InventoryLevelUpdateInput!) { inventoryLevelUpdate(input: $input) { inventoryLevel { ${LEVEL} } userErrors { code field message } } }`;
    const a = await m(LU, { sku: skus[0], warehouseCode: wh, incoming: 12 });
    expect(a.inventoryLevel.incoming).toBe(12);
    await m(CREATE, { reference: uniq('PO'), lines: [{ sku: skus[0], warehouseCode: wh, quantity: 5 }] });
    expect(await level(skus[0], wh)).toMatchObject({ incoming: 17 });
    const b = await m(LU, { sku: skus[0], warehouseCode: wh, incoming: 6 });
    expect(b.inventoryLevel.incoming).toBe(6);
    expect((await m(LU, { sku: skus[0], warehouseCode: wh, incoming: 4 })).userErrors).toEqual([
      { code: 'INCOMING_BELOW_OPEN_INBOUND', field: ['input', 'incoming'], message: expect.stringContaining('5') },
    ]);
    const d = await ok(t.gql(`{ inboundShipments(filter: { reference: "MANUAL" }) { nodes { manual lines { openQuantity } } } }`));
    expect(d.inboundShipments.nodes[0].manual).toBe(true);
    await sound();
  });
});

describe('CSV import of inbound lines', () => {
  test('rows grouped by reference become shipments; a re-run creates none twice; bad rows fail their shipment only', async () => {
    const { wh, skus } = await setup();
    const [r1, r2, r3] = [uniq('CSV'), uniq('CSV'), uniq('CSV')];
    const csv = [
      'Reference,SKU,Warehouse Code,Qty,Expected At,Supplier',
      `${r1},${skus[0]},${wh},5,2030-05-01T00:00:00Z,ACME`,
      `${r1},${skus[1]},${wh},2,,`,
      `${r2},${skus[0]},${wh},3,,`,
      `${r3},${skus[0]},${wh},x,,`,
      `,${skus[0]},${wh},1,,`,
      '',
    ].join('\n');
    const auth = { keyId: 'test', storeId: t.store.storeId, kind: 'sk' as const, scopes: ['admin'], actor: 'test:csv' };
    const run = () => importInboundCsv(t.gateway.app, { auth, input: Readable.from([csv]), seed: uniq('seed') });
    const seed = uniq('seed');
    const first = await importInboundCsv(t.gateway.app, { auth, input: Readable.from([csv]), seed });
    expect(first).toMatchObject({ rows: 5, shipments: 3, created: 2, alreadyCreated: 0, failed: 1 });
    expect(first.failures.map((f) => [f.line, f.code])).toEqual([
      [6, 'MISSING_VALUE'],
      [5, 'INVALID_NUMBER'],
    ]);
    expect(await level(skus[0], wh)).toMatchObject({ incoming: 8 });
    const again = await importInboundCsv(t.gateway.app, { auth, input: Readable.from([csv]), seed });
    expect(again).toMatchObject({ created: 0, alreadyCreated: 2, failed: 1 });
    expect(await level(skus[0], wh)).toMatchObject({ incoming: 8 });
    // Another seed: the references exist already (TAKEN), nothing changes.
    const other = await run();
    expect(other.failures.filter((f) => f.code === 'TAKEN')).toHaveLength(2);
    const d = await ok(
      t.gql(`query($r: String) { inboundShipments(filter: { reference: $r }) { nodes { source expectedAt lines { quantity } } } }`, {
        r: r1,
      }),
    );
    expect(d.inboundShipments.nodes).toEqual([
      { source: 'ACME', expectedAt: '2030-05-01T00:00:00.000Z', lines: [{ quantity: 5 }, { quantity: 2 }] },
    ]);
    await sound();
  });

  (usingPostgres ? test : test.skip)('npm run import -- FILE --inbound: summary and exit code', async () => {
    const { wh, skus } = await setup();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'inbound-csv-'));
    const file = path.join(dir, 'lines.csv');
    const ref = uniq('CLI');
    fs.writeFileSync(file, `reference,sku,warehouse,quantity\n${ref},${skus[0]},${wh},7\n${ref},${skus[1]},${wh},1\n`);
    try {
      const r = await runCli('import.js', [file, '--inbound', '--store', t.store.code, '--json'], { dataDir: dir, url: t.db.url });
      expect(r.code).toBe(0);
      expect(JSON.parse(r.out)).toMatchObject({ rows: 2, shipments: 1, created: 1, failed: 0 });
      expect(await level(skus[0], wh)).toMatchObject({ incoming: 7 });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('transfers in transit', () => {
  test('ship takes onHand at the source and adds incoming at the destination; partial receipts; a write-off closes it; units conserved', async () => {
    const a = await setup(20);
    const b = await createWarehouse(t.gql);
    const before = await unitsOnHandAndInTransit(t.gateway.app, t.store.storeId);
    const s = await m(SHIP, {
      reference: uniq('TR'),
      fromWarehouseCode: a.wh,
      toWarehouseCode: b.code,
      lines: [
        { sku: a.skus[0], quantity: 8 },
        { sku: a.skus[1], quantity: 5 },
      ],
    });
    expect(s.userErrors).toEqual([]);
    expect(s.inventoryTransfer).toMatchObject({ status: 'IN_TRANSIT', fromWarehouse: { code: a.wh }, toWarehouse: { code: b.code } });
    expect(s.inventoryTransfer.lines[0]).toMatchObject({
      inTransitQuantity: 8,
      sourceLevel: { onHand: 12 },
      destinationLevel: { onHand: 0, incoming: 8 },
    });
    const id = s.inventoryTransfer.id;
    const r = await m(TRECEIVE, { id, lines: [{ sku: a.skus[0], quantity: 6 }] });
    expect(r.userErrors).toEqual([]);
    expect(r.inventoryTransfer.status).toBe('PARTIALLY_RECEIVED');
    const n = await ok(t.gql(`query($id: ID!) { node(id: $id) { ... on InventoryTransfer { status } } }`, { id }));
    expect(n.node).toEqual({ status: 'PARTIALLY_RECEIVED' });
    expect(await level(a.skus[0], b.code)).toMatchObject({ onHand: 6, incoming: 2 });
    expect(codes(await m(TRECEIVE, { id, lines: [{ sku: a.skus[0], quantity: 3 }] }))).toEqual(['EXCEEDS_IN_TRANSIT']);
    expect(codes(await m(TRECEIVE, { id, lines: [{ sku: 'nope', quantity: 1 }] }))).toEqual(['TRANSFER_LINE_NOT_FOUND']);
    expect(codes(await m(TRECEIVE, { id: 'bad', lines: [{ sku: a.skus[0], quantity: 1 }] }))).toEqual(['TRANSFER_NOT_FOUND']);
    const mid = await unitsOnHandAndInTransit(t.gateway.app, t.store.storeId);
    expect(mid.on_hand + mid.in_transit + mid.lost).toBe(before.on_hand + before.in_transit + before.lost);
    const w = await m(WRITEOFF, { id, reason: 'DAMAGED', note: 'crushed pallet' });
    expect(w.userErrors).toEqual([]);
    expect(w.inventoryTransfer.status).toBe('CLOSED');
    expect(w.inventoryTransfer.lines.map((l: any) => [l.receivedQuantity, l.lostQuantity, l.lostReason])).toEqual([
      [6, 2, 'DAMAGED'],
      [0, 5, 'DAMAGED'],
    ]);
    expect(await level(a.skus[0], b.code)).toMatchObject({ onHand: 6, incoming: 0 });
    const after = await unitsOnHandAndInTransit(t.gateway.app, t.store.storeId);
    expect(after.on_hand + after.in_transit + after.lost).toBe(before.on_hand + before.in_transit + before.lost);
    expect(codes(await m(WRITEOFF, { id, reason: 'LOST' }))).toEqual(['TRANSFER_CLOSED']);
    await sound();
  });

  test('ship refuses more than available (INSUFFICIENT_STOCK, nothing kept), the same warehouse, and a missing source level', async () => {
    const a = await setup(3);
    const b = await createWarehouse(t.gql);
    expect(codes(await m(SHIP, { fromWarehouseCode: a.wh, toWarehouseCode: b.code, lines: [{ sku: a.skus[0], quantity: 4 }] }))).toEqual([
      'INSUFFICIENT_STOCK',
    ]);
    expect(await level(a.skus[0], a.wh)).toMatchObject({ onHand: 3 });
    expect(codes(await m(SHIP, { fromWarehouseCode: a.wh, toWarehouseCode: a.wh, lines: [{ sku: a.skus[0], quantity: 1 }] }))).toEqual([
      'SAME_WAREHOUSE',
    ]);
    expect(codes(await m(SHIP, { fromWarehouseCode: b.code, toWarehouseCode: a.wh, lines: [{ sku: a.skus[0], quantity: 1 }] }))).toEqual([
      'INVENTORY_NOT_FOUND',
    ]);
    const { rows } = await t.gateway.app.db.pool.query(
      `SELECT count(*)::int AS n FROM inventory_transfers WHERE store_id = $1 AND from_warehouse_id = $2`,
      [t.store.storeId, Buffer.from(b.id, 'base64url').toString().split(':')[1]],
    );
    expect(rows[0].n).toBe(0);
    await sound();
  });
});

describe('events, reads and access', () => {
  test('INBOUND_RECEIVED, TRANSFER_SHIPPED and TRANSFER_RECEIVED are logged per line in the same stream as INVENTORY_UPDATED', async () => {
    const a = await setup(10);
    const b = await createWarehouse(t.gql);
    const c = await m(CREATE, { reference: uniq('PO'), lines: [{ sku: a.skus[0], warehouseCode: a.wh, quantity: 4 }] });
    await m(RECEIVE, { id: c.inboundShipment.id, lines: [{ sku: a.skus[0], warehouseCode: a.wh, quantity: 4 }] });
    const s = await m(SHIP, { fromWarehouseCode: a.wh, toWarehouseCode: b.code, lines: [{ sku: a.skus[1], quantity: 2 }] });
    await m(TRECEIVE, { id: s.inventoryTransfer.id, lines: [{ sku: a.skus[1], quantity: 2 }] });
    const topics = ['INBOUND_RECEIVED', 'TRANSFER_SHIPPED', 'TRANSFER_RECEIVED'];
    let rows: any[] = [];
    await eventually('the three transit events', async () => {
      const r = await t.gateway.app.db.pool.query(
        `SELECT topic, payload FROM event_log WHERE store_id = $1 AND topic = ANY($2) AND payload->>'variantId' IN
           (SELECT id::text FROM variants WHERE sku = ANY($3)) ORDER BY seq`,
        [t.store.storeId, topics, a.skus],
      );
      rows = r.rows;
      return rows.length === 3;
    });
    expect(rows.map((r: any) => r.topic)).toEqual(topics);
    expect(rows[0].payload).toMatchObject({
      quantity: 4,
      overReceived: 0,
      incomingBefore: 4,
      incomingAfter: 0,
      onHandBefore: 10,
      onHandAfter: 14,
    });
    expect(rows[1].payload).toMatchObject({ quantity: 2, onHandBefore: 10, onHandAfter: 8 });
    expect(rows[2].payload).toMatchObject({ quantity: 2, incomingBefore: 2, incomingAfter: 0, onHandAfter: 2 });
  });

  test('inboundReceived, transferShipped and transferReceived are delivered over graphql-ws with the level filters, and as webhook topics', async () => {
    const a = await setup(10);
    const b = await createWarehouse(t.gql);
    const [hook] = (
      await t.gateway.app.db.pool.query(
        `INSERT INTO webhook_subscriptions (store_id, url, topics, secret) VALUES ($1, 'https://hooks.invalid/x', $2, 's') RETURNING id`,
        [t.store.storeId, ['INBOUND_RECEIVED', 'TRANSFER_SHIPPED', 'TRANSFER_RECEIVED']],
      )
    ).rows;
    const FIELDS = `cursor reference quantity onHandBefore onHandAfter incomingBefore incomingAfter actor movementId variant { sku } warehouse { code }`;
    const sub = (field: string, extra: string, whId: string) =>
      subscribe(
        t.url,
        t.store.adminKey,
        `subscription($f: InventoryEventFilter) { ${field}(filter: $f) { ${FIELDS} ${extra} } }`,
        { f: { warehouseIds: [whId] } },
        { registered: oneMoreSubscriber(t) },
      );
    const received = await sub('inboundReceived', 'overReceived inboundShipment { reference }', a.whId);
    const shipped = await sub('transferShipped', 'inventoryTransfer { status }', a.whId);
    const arrived = await sub('transferReceived', 'inventoryTransfer { status }', b.id);
    try {
      const ref = uniq('PO');
      const c = await m(CREATE, { reference: ref, lines: [{ sku: a.skus[0], warehouseCode: a.wh, quantity: 3 }] });
      await m(RECEIVE, { id: c.inboundShipment.id, lines: [{ sku: a.skus[0], warehouseCode: a.wh, quantity: 5 }], allowOverReceipt: true });
      const s = await m(SHIP, {
        reference: 'T1',
        fromWarehouseCode: a.wh,
        toWarehouseCode: b.code,
        lines: [{ sku: a.skus[1], quantity: 4 }],
      });
      await m(TRECEIVE, { id: s.inventoryTransfer.id, lines: [{ sku: a.skus[1], quantity: 4 }] });
      const [r] = await received.waitFor(1);
      expect(r).toMatchObject({
        reference: ref,
        quantity: 5,
        overReceived: 2,
        onHandBefore: 10,
        onHandAfter: 15,
        incomingBefore: 3,
        incomingAfter: 0,
      });
      expect(r.inboundShipment).toEqual({ reference: ref });
      expect(r.warehouse.code).toBe(a.wh);
      const [sh] = await shipped.waitFor(1);
      expect(sh).toMatchObject({ reference: 'T1', quantity: 4, onHandBefore: 10, onHandAfter: 6, variant: { sku: a.skus[1] } });
      const [ar] = await arrived.waitFor(1);
      expect(ar).toMatchObject({
        reference: 'T1',
        quantity: 4,
        onHandAfter: 4,
        incomingBefore: 4,
        incomingAfter: 0,
        inventoryTransfer: { status: 'RECEIVED' },
      });
      await eventually('one delivery per webhook topic', async () => {
        const d = await t.gateway.app.db.pool.query(`SELECT topic FROM webhook_deliveries WHERE subscription_id = $1 ORDER BY event_seq`, [
          hook.id,
        ]);
        return d.rows.map((x) => x.topic).join() === 'INBOUND_RECEIVED,TRANSFER_SHIPPED,TRANSFER_RECEIVED';
      });
    } finally {
      await t.gateway.app.db.pool.query(`DELETE FROM webhook_subscriptions WHERE id = $1`, [hook.id]);
      await Promise.all([received.close(), shipped.close(), arrived.close()]);
    }
  });

  test('connections filter by status, warehouse and expected date, page with sealed cursors, and send a constant number of statements', async () => {
    const { wh, whId, skus } = await setup();
    const refs = [];
    for (let i = 0; i < 5; i++) {
      const r = await m(CREATE, {
        reference: uniq('PG'),
        expectedAt: `2031-0${i + 1}-01T00:00:00.000Z`,
        lines: skus.map((sku) => ({ sku, warehouseCode: wh, quantity: 1 + i })),
      });
      refs.push(r.inboundShipment.id);
    }
    await m(CANCEL, { id: refs[0] });
    const Q = `query($f: InboundShipmentFilter, $n: Int, $after: String) { inboundShipments(first: $n, after: $after, filter: $f) {
      totalCount pageInfo { hasNextPage endCursor } nodes { id status lines { openQuantity variant { sku } warehouse { code } inventoryLevel { incoming inTransit } } } } }`;
    const all = await ok(t.gql(Q, { f: { warehouseIds: [whId] }, n: 2 }));
    expect(all.inboundShipments.totalCount).toBe(5);
    expect(all.inboundShipments.pageInfo.hasNextPage).toBe(true);
    const next = await ok(t.gql(Q, { f: { warehouseIds: [whId] }, n: 2, after: all.inboundShipments.pageInfo.endCursor }));
    expect(next.inboundShipments.nodes.map((n: any) => n.id)).toEqual([refs[2], refs[1]]);
    const open = await ok(t.gql(Q, { f: { warehouseIds: [whId], statuses: ['OPEN'], expectedBefore: '2031-04-15T00:00:00.000Z' }, n: 10 }));
    expect(open.inboundShipments.nodes.map((n: any) => n.id)).toEqual([refs[3], refs[2], refs[1]]);
    expect((await t.gql(Q, { n: 1, after: 'forged' })).body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const counts: number[] = [];
    for (const n of [1, 4]) {
      await ok(t.gql(Q, { f: { warehouseIds: [whId] }, n: 1 }));
      const res = await t.gql(Q, { f: { warehouseIds: [whId] }, n });
      counts.push(Number(res.headers.get('x-sql-statements')));
    }
    expect(counts[0]).toBeGreaterThan(0);
    expect(counts[1]).toBe(counts[0]);
    const TQ = `query($f: InventoryTransferFilter) { inventoryTransfers(first: 10, filter: $f) { totalCount nodes { status lines { inTransitQuantity } } } }`;
    const tr0 = await ok(t.gql(TQ, { f: { warehouseIds: [whId], statuses: ['IN_TRANSIT'] } }));
    expect(tr0.inventoryTransfers.totalCount).toBe(0);
  });

  test('private: a publishable key and a key without inventory:read are refused; inventory:write is needed to receive', async () => {
    const pk = makeClient(t.url, await t.store.publishableKey());
    expect((await pk(`{ inboundShipments(first: 1) { totalCount } }`)).body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const reader = makeClient(t.url, await t.store.keyWith(['inventory:read']));
    expect((await reader(`{ inventoryTransfers(first: 1) { totalCount } }`)).body.errors).toBeUndefined();
    const r = await reader(CREATE, { input: { reference: 'x', lines: [] } });
    expect(r.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});

describe('concurrency', () => {
  test('concurrent receipts never over-receive a line', async () => {
    const { wh, skus } = await setup();
    const c = await m(CREATE, { reference: uniq('PO'), lines: [{ sku: skus[0], warehouseCode: wh, quantity: 50 }] });
    const results = await Promise.all(
      Array.from({ length: 24 }, () => m(RECEIVE, { id: c.inboundShipment.id, lines: [{ sku: skus[0], warehouseCode: wh, quantity: 5 }] })),
    );
    const okCount = results.filter((r) => r.userErrors.length === 0).length;
    expect(okCount).toBe(10);
    // Receipts serialize on the shipment: once the line is full, the shipment is RECEIVED.
    for (const c of results.flatMap(codes)) expect(['OVER_RECEIPT', 'INBOUND_SHIPMENT_CLOSED']).toContain(c);
    expect(await level(skus[0], wh)).toMatchObject({ onHand: 50, incoming: 0 });
    await sound();
  });

  test('concurrent ships, receipts and write-offs conserve units exactly', async () => {
    const a = await setup(30);
    const b = await createWarehouse(t.gql);
    const vids = await t.gateway.app.db.pool
      .query(`SELECT id::text FROM variants WHERE sku = ANY($1)`, [a.skus])
      .then((r) => r.rows.map((x) => x.id as string));
    const before = await unitsOnHandAndInTransit(t.gateway.app, t.store.storeId, vids);
    const shipped = await Promise.all(
      Array.from({ length: 16 }, (_, i) =>
        m(SHIP, { fromWarehouseCode: a.wh, toWarehouseCode: b.code, lines: [{ sku: a.skus[i % 2], quantity: 4 }] }),
      ),
    );
    const done = shipped.filter((x) => x.userErrors.length === 0);
    expect(done).toHaveLength(14); // 7 × 4 ≤ 30 per variant
    expect(new Set(shipped.flatMap(codes))).toEqual(new Set(['INSUFFICIENT_STOCK']));
    // Each transfer (one line of 4): two receipts of 1 and 2 and a write-off of 1 race each other.
    const settled = await Promise.all(
      done.flatMap((x) => {
        const id = x.inventoryTransfer.id;
        const lineId = x.inventoryTransfer.lines[0].id;
        return [
          m(TRECEIVE, { id, lines: [{ lineId, quantity: 1 }] }),
          m(TRECEIVE, { id, lines: [{ lineId, quantity: 2 }] }),
          m(WRITEOFF, { id, reason: 'LOST', lines: [{ lineId, quantity: 1 }] }),
        ];
      }),
    );
    expect(settled.flatMap(codes)).toEqual([]);
    const after = await unitsOnHandAndInTransit(t.gateway.app, t.store.storeId, vids);
    expect(after.on_hand + after.in_transit + after.lost).toBe(before.on_hand + before.in_transit + before.lost);
    expect(after).toEqual({ on_hand: before.on_hand - 14, in_transit: 0, lost: 14 });
    await sound();
  });
});

describe('with backorder policies', () => {
  const RESERVE = `mutation($input: InventoryReserveInput!) { inventoryReserve(input: $input) { reservation { id } userErrors { code field message } } }`;
  const reserve = async (sku: string, warehouseCode: string, quantity: number) =>
    codes(await m(RESERVE, { lines: [{ sku, warehouseCode, quantity }], ttlSeconds: 600 }));
  async function policy(sku: string, inventoryPolicy: string) {
    const v = await ok(t.gql(`query($s: String!) { variant(sku: $s) { id } }`, { s: sku }));
    const d = await ok(
      t.gql(`mutation($id: ID!, $input: VariantUpdateInput!) { variantUpdate(id: $id, input: $input) { userErrors { code } } }`, {
        id: v.variant.id,
        input: { inventoryPolicy },
      }),
    );
    expect(d.variantUpdate.userErrors).toEqual([]);
  }
  async function figures(sku: string, wh: string) {
    const d = await ok(
      t.gql(
        `query($s: String!) { variant(sku: $s) { inventoryLevels(first: 20) { nodes { onHand reserved incoming backordered sellable warehouse { code } } } } }`,
        {
          s: sku,
        },
      ),
    );
    const { warehouse: _w, ...rest } = d.variant.inventoryLevels.nodes.find((n: any) => n.warehouse.code === wh);
    return rest;
  }

  test('PREORDER sells against the derived incoming (open inbound lines + units in transit); receipts turn the preorders into stock', async () => {
    const a = await setup();
    const b = await createWarehouse(t.gql);
    await setStock(t.gql, a.skus[0], a.wh, 0);
    await setStock(t.gql, a.skus[0], b.code, 5);
    await policy(a.skus[0], 'PREORDER');
    expect(await reserve(a.skus[0], a.wh, 1)).toEqual(['INSUFFICIENT_STOCK']);
    const c = await m(CREATE, { reference: uniq('PO'), lines: [{ sku: a.skus[0], warehouseCode: a.wh, quantity: 3 }] });
    expect(c.userErrors).toEqual([]);
    expect(await reserve(a.skus[0], a.wh, 3)).toEqual([]);
    expect(await reserve(a.skus[0], a.wh, 1)).toEqual(['INSUFFICIENT_STOCK']);
    expect(await figures(a.skus[0], a.wh)).toEqual({ onHand: 0, reserved: 3, incoming: 3, backordered: 3, sellable: false });
    // Units in transit to the level count as incoming too.
    const s = await m(SHIP, { fromWarehouseCode: b.code, toWarehouseCode: a.wh, lines: [{ sku: a.skus[0], quantity: 2 }] });
    expect(s.userErrors).toEqual([]);
    expect(await reserve(a.skus[0], a.wh, 2)).toEqual([]);
    expect(await reserve(a.skus[0], a.wh, 1)).toEqual(['INSUFFICIENT_STOCK']);
    expect(await figures(a.skus[0], a.wh)).toEqual({ onHand: 0, reserved: 5, incoming: 5, backordered: 5, sellable: false });
    const r = await m(RECEIVE, { id: c.inboundShipment.id, lines: [{ sku: a.skus[0], warehouseCode: a.wh, quantity: 3 }] });
    expect(r.userErrors).toEqual([]);
    expect(await figures(a.skus[0], a.wh)).toEqual({ onHand: 3, reserved: 5, incoming: 2, backordered: 2, sellable: false });
    const tr2 = await m(TRECEIVE, { id: s.inventoryTransfer.id, lines: [{ sku: a.skus[0], quantity: 2 }] });
    expect(tr2.userErrors).toEqual([]);
    expect(await figures(a.skus[0], a.wh)).toEqual({ onHand: 5, reserved: 5, incoming: 0, backordered: 0, sellable: false });
    await sound();
  });

  test('a transfer ships only units on hand: the source backorder policy does not apply to it', async () => {
    const a = await setup(1);
    const b = await createWarehouse(t.gql);
    await policy(a.skus[1], 'CONTINUE');
    const refused = await m(SHIP, { fromWarehouseCode: a.wh, toWarehouseCode: b.code, lines: [{ sku: a.skus[1], quantity: 2 }] });
    expect(codes(refused)).toEqual(['INSUFFICIENT_STOCK']);
    // The same level still sells on backorder.
    expect(await reserve(a.skus[1], a.wh, 2)).toEqual([]);
    expect(await figures(a.skus[1], a.wh)).toMatchObject({ onHand: 1, reserved: 2, backordered: 1, sellable: true });
    await sound();
  });
});
