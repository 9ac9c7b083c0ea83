/**
 * Racing reservations: one-line reserves (group-committed in one statement) against multi-line
 * reserves, releases and commits on the same levels. The batch statement must never attempt a
 * change the table's CHECK constraints forbid (it used to, now and then: 23514 on
 * inventory_levels_reserved_check, logged as "reservation batch refused").
 */
import { createProduct, createWarehouse, setStock } from '../helpers/factories';
import { ok } from '../helpers/gql';
import { checkInvariants } from '../helpers/invariants';
import { startTestServer, type TestServer } from '../helpers/server';
import { rng } from '../helpers/rng';
import { tuningEnv } from '../../src/config/tuning';

jest.setTimeout(120_000);

let t: TestServer;
const logged: string[] = [];
const origWrite = process.stderr.write.bind(process.stderr);

beforeAll(async () => {
  // The gateway logs JSON lines to stderr; keep the warnings to look for refused batches.
  process.stderr.write = ((chunk: unknown, ...rest: unknown[]) => {
    const s = String(chunk);
    if (s.includes('"level":"warn"') || s.includes('"level":"error"')) logged.push(s);
    return (origWrite as (...a: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stderr.write;
  t = await startTestServer({ LOG_LEVEL: 'warn', INVENTORY_TUNING: tuningEnv({ RESERVE_BATCH_IN_FLIGHT: 2 }) });
});
afterAll(async () => {
  process.stderr.write = origWrite;
  await t?.stop();
});

const RESERVE = `mutation($input: InventoryReserveInput!) { inventoryReserve(input: $input) { reservation { id } userErrors { code } } }`;
const RELEASE = `mutation($input: ReservationSettleInput!) { reservationRelease(input: $input) { userErrors { code } } }`;
const COMMIT = `mutation($input: ReservationSettleInput!) { reservationCommit(input: $input) { userErrors { code } } }`;
const ADJUST = `mutation($input: InventoryAdjustInput!) { inventoryAdjust(input: $input) { userErrors { code } } }`;

test('racing multi-line and one-line reserves on shared levels: no batch is refused by a CHECK constraint (23514), no oversell', async () => {
  const wh = await createWarehouse(t.gql);
  const p = await createProduct(t.gql, { skus: ['A', 'B', 'C'].map((x) => `RACE-${x}-${Date.now()}`) });
  for (const sku of p.skus) await setStock(t.gql, sku, wh.code, 6);
  const rand = rng(17);
  const held: string[] = [];
  let granted = 0;
  const worker = async (w: number) => {
    for (let i = 0; i < 40; i++) {
      const r = rand();
      if (r < 0.45) {
        const d = await ok(
          t.gql(RESERVE, {
            input: { lines: [{ sku: p.skus[Math.floor(rand() * 3)], quantity: 1 + Math.floor(rand() * 2) }], ttlSeconds: 60 },
          }),
        );
        if (d.inventoryReserve.reservation) {
          granted++;
          held.push(d.inventoryReserve.reservation.id);
        }
      } else if (r < 0.75) {
        const a = Math.floor(rand() * 3);
        const lines = [
          { sku: p.skus[a], quantity: 1 },
          { sku: p.skus[(a + 1) % 3], quantity: 1 + Math.floor(rand() * 2) },
        ];
        const d = await ok(t.gql(RESERVE, { input: { lines, ttlSeconds: 60 } }));
        if (d.inventoryReserve.reservation) {
          granted++;
          held.push(d.inventoryReserve.reservation.id);
        }
      } else if (r < 0.9 && held.length) {
        const id = held.splice(Math.floor(rand() * held.length), 1)[0];
        await ok(t.gql(rand() < 0.5 ? RELEASE : COMMIT, { input: { reservationId: id } }));
      } else {
        await ok(
          t.gql(ADJUST, {
            input: { sku: p.skus[(w + i) % 3], warehouseCode: wh.code, delta: rand() < 0.5 ? 2 : -1, reason: 'CORRECTION' },
          }),
        );
      }
    }
  };
  await Promise.all(Array.from({ length: 12 }, (_, w) => worker(w)));
  expect(granted).toBeGreaterThan(10);
  const refused = logged.filter(
    (l) => l.includes('reservation batch refused') || l.includes('23514') || l.includes('violates check constraint'),
  );
  expect(refused).toEqual([]);
  const inv = await checkInvariants(t.gateway.app, t.store.storeId);
  expect(inv).toEqual({ ledger: [], reservedLedger: [], bounds: [], reservedVsLines: [], dupKeys: [] });
});
