/**
 * Exactness under concurrency, over HTTP: the hot SKU, a mixed load checked by SQL afterwards,
 * and overlapping bulk updates in opposite orders.
 */
import { createProduct, createWarehouse, setStock, stockedSku, uniq } from '../helpers/factories';
import { ok, type GqlResponse } from '../helpers/gql';
import { checkInvariants, outboxGaps } from '../helpers/invariants';
import { eventually } from '../helpers/poll';
import { withSeed } from '../helpers/rng';
import { startTestServer, type TestServer } from '../helpers/server';
import { tuningEnv } from '../../src/config/tuning';
import { ALL_EVENTS } from '../helpers/events';

jest.setTimeout(180_000);

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ DATABASE_POOL_SIZE: '20', INVENTORY_TUNING: tuningEnv({ SWEEP_INTERVAL_MS: 100 }) });
});
afterAll(async () => {
  await t?.stop();
});

const RESERVE = `mutation($input: InventoryReserveInput!) { inventoryReserve(input: $input) {
  reservation { id lines { id quantity } } idempotentReplay userErrors { code message } } }`;

function payload(r: GqlResponse, name: string) {
  if (r.status !== 200 || r.body.errors?.length) throw new Error(`${name}: HTTP ${r.status} ${JSON.stringify(r.body.errors)}`);
  return r.body.data[name];
}

test('hot SKU: 200 concurrent reservations of 1 on available = 50 give exactly 50 holds and 150 INSUFFICIENT_STOCK', async () => {
  const s = await stockedSku(t.gql, 50);
  const results = await Promise.all(
    Array.from({ length: 200 }, () => t.gql(RESERVE, { input: { lines: [{ sku: s.sku, warehouseCode: s.warehouseCode, quantity: 1 }] } })),
  );
  const payloads = results.map((r) => payload(r, 'inventoryReserve'));
  const held = payloads.filter((p) => p.reservation);
  const refused = payloads.filter((p) => p.userErrors.length);
  expect(held).toHaveLength(50);
  expect(refused).toHaveLength(150);
  for (const p of refused) expect(p.userErrors.map((e: any) => e.code)).toEqual(['INSUFFICIENT_STOCK']);

  const lv = (await ok(t.gql(`query($id: ID!) { inventoryLevel(id: $id) { onHand reserved available status } }`, { id: s.level.id })))
    .inventoryLevel;
  expect(lv).toEqual({ onHand: 50, reserved: 50, available: 0, status: 'OUT_OF_STOCK' });
  const sums = await t.gateway.app.db.pool.query(
    `SELECT sum(quantity_delta)::int AS on_hand, sum(reserved_delta)::int AS reserved, count(*) FILTER (WHERE reason = 'RESERVATION')::int AS holds
       FROM stock_movements WHERE inventory_level_id = (SELECT id FROM inventory_levels WHERE store_id = $1 AND variant_id = (SELECT id FROM variants WHERE sku = $2))`,
    [t.store.storeId, s.sku],
  );
  expect(sums.rows[0]).toEqual({ on_hand: 50, reserved: 50, holds: 50 });
});

test('group commit: concurrent reservations share statements, yet each has its own exact ledger row, event and answer', async () => {
  // Two levels, 90 requests of 1–3 units arriving together: the batcher groups them; per level the
  // grants follow arrival order while stock lasts, the rest are refused by the general path.
  const a = await stockedSku(t.gql, 40);
  const b = await stockedSku(t.gql, 25);
  const reqs = Array.from({ length: 90 }, (_, i) => ({ s: i % 3 === 2 ? b : a, quantity: 1 + (i % 3), reference: `gc-${i}` }));
  const results = await Promise.all(
    reqs.map((r) =>
      t.gql(RESERVE, {
        input: { reference: r.reference, lines: [{ sku: r.s.sku, warehouseCode: r.s.warehouseCode, quantity: r.quantity }] },
      }),
    ),
  );
  const payloads = results.map((r) => payload(r, 'inventoryReserve'));
  const { pool } = t.gateway.app.db;
  const holdTimes: number[] = [];
  for (const [s, onHand] of [
    [a, 40],
    [b, 25],
  ] as const) {
    const mine = reqs.map((r, i) => ({ ...r, p: payloads[i] })).filter((r) => r.s === s);
    const held = mine.filter((r) => r.p.reservation);
    const heldUnits = held.reduce((n, r) => n + r.quantity, 0);
    for (const r of held) expect(r.p.reservation.lines.map((l: { quantity: number }) => l.quantity)).toEqual([r.quantity]);
    for (const r of mine.filter((x) => !x.p.reservation))
      expect(r.p.userErrors.map((e: { code: string }) => e.code)).toEqual(['INSUFFICIENT_STOCK']);
    // Never oversold; and what is left cannot serve any refused request (smallest is 1 unit).
    expect(heldUnits).toBeLessThanOrEqual(onHand);
    if (mine.some((x) => !x.p.reservation))
      expect(onHand - heldUnits).toBeLessThan(Math.min(...mine.filter((x) => !x.p.reservation).map((x) => x.quantity)));

    const levelId = (
      await pool.query(`SELECT l.id FROM inventory_levels l JOIN variants v ON v.id = l.variant_id WHERE v.sku = $1`, [s.sku])
    ).rows[0].id;
    const lv = (await pool.query(`SELECT on_hand, reserved FROM inventory_levels WHERE id = $1`, [levelId])).rows[0];
    expect(lv).toEqual({ on_hand: onHand, reserved: heldUnits });
    // The ledger: one RESERVATION row per hold, each for its own reservation and quantity, forming
    // an unbroken chain reserved_before → reserved_after in id order.
    const moves = (
      await pool.query(
        `SELECT m.id::int, m.reserved_before, m.reserved_after, m.reserved_delta, m.on_hand_before, m.on_hand_after, m.note, m.created_at, r.reference
           FROM stock_movements m LEFT JOIN reservations r ON r.id = m.reservation_id
          WHERE m.inventory_level_id = $1 AND m.reason = 'RESERVATION' ORDER BY m.id`,
        [levelId],
      )
    ).rows;
    expect(moves).toHaveLength(held.length);
    let reserved = 0;
    for (const m of moves) {
      expect(m.reserved_before).toBe(reserved);
      expect(m.reserved_after).toBe(reserved + m.reserved_delta);
      expect([m.on_hand_before, m.on_hand_after]).toEqual([onHand, onHand]);
      expect(m.note).toBe(m.reference);
      expect(m.reserved_delta).toBe(reqs[Number(m.reference.slice(3))].quantity);
      reserved = m.reserved_after;
    }
    expect(reserved).toBe(heldUnits);
    expect(new Set(moves.map((m) => m.reference))).toEqual(new Set(held.map((r) => r.reference)));
    holdTimes.push(...moves.map((m) => m.created_at.getTime()));

    // Events: one INVENTORY_UPDATED per hold, carrying its movement and its own before/after.
    const events = (
      await pool.query(
        `SELECT topic, payload FROM ${ALL_EVENTS} e WHERE level_id = $1 AND payload->>'reason' = 'RESERVATION' ORDER BY queued, ord`,
        [levelId],
      )
    ).rows;
    expect(events.map((e) => Number(e.payload.movementId))).toEqual(moves.map((m) => m.id));
    events.forEach((e, i) => {
      expect(e.topic).toBe('INVENTORY_UPDATED');
      expect([e.payload.before.reserved, e.payload.after.reserved]).toEqual([moves[i].reserved_before, moves[i].reserved_after]);
      expect(e.payload.after.available).toBe(onHand - moves[i].reserved_after);
    });
    // …and exactly one OUT_OF_STOCK crossing if the level was emptied.
    const crossings = (
      await pool.query(
        `SELECT payload FROM ${ALL_EVENTS} e WHERE level_id = $1 AND topic = 'STOCK_STATUS_CHANGED' AND payload->>'status' = 'OUT_OF_STOCK'`,
        [levelId],
      )
    ).rows;
    expect(crossings).toHaveLength(heldUnits === onHand ? 1 : 0);
  }
  // Group commit really happened: several holds (of either level) were written by one statement
  // (one transaction timestamp) — 90 requests at once cannot all have gone one by one through the
  // batch slot. Counted over both levels: on a loaded machine the requests of one level may trickle.
  expect(new Set(holdTimes).size).toBeLessThan(holdTimes.length);
  expect(await checkInvariants(t.gateway.app, t.store.storeId)).toEqual({
    ledger: [],
    reservedLedger: [],
    bounds: [],
    reservedVsLines: [],
    dupKeys: [],
  });
});

const OPS = [
  'inventorySet',
  'inventoryAdjust',
  'inventoryReserve',
  'reservationRelease',
  'reservationCommit',
  'inventoryMove',
  'inventoryBulkUpdate',
];

test('mixed load: set, adjust, reserve, release, commit, move and bulk on hot levels keep every invariant', () =>
  withSeed(async (random) => {
    const whA = await createWarehouse(t.gql, { priority: 1 });
    const whB = await createWarehouse(t.gql, { priority: 2 });
    const skus: string[] = [];
    for (let i = 0; i < 3; i++) {
      const p = await createProduct(t.gql);
      skus.push(p.skus[0]);
      await setStock(t.gql, p.skus[0], whA.code, 60);
      await setStock(t.gql, p.skus[0], whB.code, 40);
    }
    const whs = [whA.code, whB.code];
    const pick = <T>(xs: T[]) => xs[Math.floor(random() * xs.length)];
    const open: { id: string; lines: { id: string; quantity: number }[] }[] = [];
    const stats: Record<string, number> = {};
    const count = (k: string) => (stats[k] = (stats[k] ?? 0) + 1);
    const problems: string[] = [];

    async function send(name: string, query: string, input: Record<string, unknown>) {
      const r = await t.gql(query, { input });
      if (r.status !== 200 || r.body.errors?.length) {
        problems.push(`${name}: ${r.status} ${JSON.stringify(r.body.errors)}`);
        return null;
      }
      const p = r.body.data[name];
      count(p.userErrors.length ? `${name}:${p.userErrors[0].code}` : `${name}:ok`);
      return p;
    }

    /** Half of the keyed requests are sent twice at once: each key must apply at most once. */
    async function maybeTwice(name: string, query: string, input: Record<string, unknown>) {
      if (random() < 0.3) {
        const keyed = { ...input, idempotencyKey: uniq('k') };
        const [a] = await Promise.all([send(name, query, keyed), send(name, query, keyed)]);
        return a;
      }
      return send(name, query, input);
    }

    const ops: (() => Promise<unknown>)[] = [
      () =>
        maybeTwice('inventorySet', `mutation($input: InventorySetInput!) { inventorySet(input: $input) { userErrors { code } } }`, {
          sku: pick(skus),
          warehouseCode: pick(whs),
          quantity: 30 + Math.floor(random() * 40),
          reason: 'CYCLE_COUNT',
        }),
      () =>
        maybeTwice(
          'inventoryAdjust',
          `mutation($input: InventoryAdjustInput!) { inventoryAdjust(input: $input) { userErrors { code } } }`,
          {
            sku: pick(skus),
            warehouseCode: pick(whs),
            delta: pick([-5, -3, -1, 1, 2, 4]),
            reason: 'CORRECTION',
          },
        ),
      async () => {
        const lines = [{ sku: pick(skus), quantity: 1 + Math.floor(random() * 6) }];
        if (random() < 0.5) lines.push({ sku: pick(skus), quantity: 1 + Math.floor(random() * 3) });
        const p = await maybeTwice('inventoryReserve', RESERVE, { lines, ttlSeconds: pick([1, 2, 60, 60]) });
        if (p?.reservation && !p.idempotentReplay) open.push(p.reservation);
      },
      async () => {
        const r = open.shift();
        if (!r) return;
        const partial = random() < 0.5;
        await maybeTwice(
          'reservationRelease',
          `mutation($input: ReservationSettleInput!) { reservationRelease(input: $input) { userErrors { code } } }`,
          partial ? { reservationId: r.id, lines: [{ lineId: r.lines[0].id, quantity: 1 }] } : { reservationId: r.id },
        );
      },
      async () => {
        const r = open.shift();
        if (!r) return;
        await maybeTwice(
          'reservationCommit',
          `mutation($input: ReservationSettleInput!) { reservationCommit(input: $input) { userErrors { code } } }`,
          {
            reservationId: r.id,
          },
        );
      },
      () => {
        const [from, to] = random() < 0.5 ? whs : [...whs].reverse();
        return maybeTwice(
          'inventoryMove',
          `mutation($input: InventoryMoveInput!) { inventoryMove(input: $input) { userErrors { code } } }`,
          {
            sku: pick(skus),
            fromWarehouseCode: from,
            toWarehouseCode: to,
            quantity: 1 + Math.floor(random() * 5),
          },
        );
      },
      () => {
        const items = skus.flatMap((sku) => whs.map((w) => ({ mode: 'ADJUST', sku, warehouseCode: w, delta: pick([-2, -1, 1, 3]) })));
        if (random() < 0.5) items.reverse();
        return maybeTwice(
          'inventoryBulkUpdate',
          `mutation($input: InventoryBulkUpdateInput!) { inventoryBulkUpdate(input: $input) { updatedCount userErrors { code } } }`,
          { items, errorPolicy: pick(['REJECT_EVERYTHING', 'REJECT_FAILED_ROWS']) },
        );
      },
    ];

    // At least 5 s of load, and on until every kind of operation has succeeded at least once (a loaded
    // machine gets through fewer operations in 5 s); at most 90 s, after which the check below fails.
    const minEnd = Date.now() + 5_000;
    const maxEnd = Date.now() + 90_000;
    const allSucceeded = () => OPS.every((op) => (stats[`${op}:ok`] ?? 0) > 0);
    const workers = Array.from({ length: 12 }, async () => {
      while (Date.now() < maxEnd && (Date.now() < minEnd || !allSucceeded())) await pick(ops)();
    });
    await Promise.all(workers);

    expect(problems).toEqual([]);
    // Every kind of operation actually succeeded at least once under the load.
    for (const op of OPS) expect(stats[`${op}:ok`] ?? 0).toBeGreaterThan(0);

    const inv = await checkInvariants(t.gateway.app, t.store.storeId);
    expect(inv).toEqual({ ledger: [], reservedLedger: [], bounds: [], reservedVsLines: [], dupKeys: [] });
    // Reservations made in the load's last seconds (TTL 1–2 s) expire after it: the sweeper's releases
    // queue events after any single settle(), so wait (with a deadline) until the queue is empty.
    await eventually('every queued event numbered', async () => {
      await t.gateway.app.events!.settle();
      return (await outboxGaps(t.gateway.app.db.pool)).pending === 0;
    });
    const gaps = await outboxGaps(t.gateway.app.db.pool);
    expect({ missing: gaps.missing, duplicated: gaps.duplicated }).toEqual({ missing: 0, duplicated: 0 });
    const q = (sql: string) => t.gateway.app.db.pool.query(sql, [t.store.storeId]).then((r) => r.rows);
    // reserved as read (effective) = the active, unexpired reservation lines.
    const effective = await q(`SELECT l.id FROM inventory_levels l
        WHERE l.store_id = $1 AND (l.reserved - coalesce((SELECT sum(quantity) FROM reservation_lines rl WHERE rl.inventory_level_id = l.id AND rl.status = 'ACTIVE' AND rl.expires_at <= now()), 0))
          <> coalesce((SELECT sum(quantity) FROM reservation_lines rl WHERE rl.inventory_level_id = l.id AND rl.status = 'ACTIVE' AND rl.expires_at > now()), 0)`);
    expect(effective).toEqual([]);
    // No idempotency key applied twice: at most one movement per key, level and reason.
    const twice = await q(`SELECT idempotency_key, inventory_level_id, reason, count(*)::int FROM stock_movements
        WHERE store_id = $1 AND idempotency_key IS NOT NULL GROUP BY 1, 2, 3 HAVING count(*) > 1`);
    expect(twice).toEqual([]);
    const reservationsPerKey = await q(`SELECT idempotency_key, count(*)::int FROM reservations
        WHERE store_id = $1 AND idempotency_key IS NOT NULL GROUP BY 1 HAVING count(*) > 1`);
    expect(reservationsPerKey).toEqual([]);
    // Reservation lines account for every unit: held + committed + released + expired = original.
    const lines = await q(`SELECT rl.id FROM reservation_lines rl JOIN reservations r ON r.id = rl.reservation_id
        WHERE r.store_id = $1 AND rl.quantity + rl.committed_quantity + rl.released_quantity
          + CASE WHEN rl.status = 'EXPIRED' THEN 0 ELSE rl.expired_quantity END <> rl.original_quantity`);
    expect(lines).toEqual([]);
  }));

test('bulk overlap: two bulk updates over the same 300 levels in opposite orders never deadlock', async () => {
  const wh = await createWarehouse(t.gql);
  const skus: string[] = [];
  for (let p = 0; p < 3; p++) skus.push(...(await createProduct(t.gql, { skus: Array.from({ length: 100 }, () => uniq('BULK')) })).skus);
  const BULK = `mutation($input: InventoryBulkUpdateInput!) { inventoryBulkUpdate(input: $input) { updatedCount failedCount userErrors { code message } } }`;
  const seed = await t.gql(BULK, { input: { items: skus.map((sku) => ({ mode: 'SET', sku, warehouseCode: wh.code, quantity: 100 })) } });
  expect(payload(seed, 'inventoryBulkUpdate')).toEqual({ updatedCount: 300, failedCount: 0, userErrors: [] });

  const forward = skus.map((sku) => ({ mode: 'ADJUST', sku, warehouseCode: wh.code, delta: 1 }));
  const backward = [...forward].reverse().map((i) => ({ ...i, delta: -1 }));
  const rounds = 4;
  for (let round = 0; round < rounds; round++) {
    const rs = await Promise.all([
      t.gql(BULK, { input: { items: forward, errorPolicy: 'REJECT_EVERYTHING' } }),
      t.gql(BULK, { input: { items: backward, errorPolicy: 'REJECT_EVERYTHING' } }),
      t.gql(BULK, { input: { items: forward, errorPolicy: 'REJECT_FAILED_ROWS' } }),
    ]);
    for (const r of rs) expect(payload(r, 'inventoryBulkUpdate')).toEqual({ updatedCount: 300, failedCount: 0, userErrors: [] });
  }
  const sums = await t.gateway.app.db.pool.query(
    `SELECT min(l.on_hand)::int AS min, max(l.on_hand)::int AS max, count(*)::int AS n FROM inventory_levels l JOIN warehouses w ON w.id = l.warehouse_id WHERE w.code = $1 AND w.store_id = $2`,
    [wh.code, t.store.storeId],
  );
  expect(sums.rows[0]).toEqual({ min: 100 + rounds, max: 100 + rounds, n: 300 });
  // Deadlocks would have been retried silently; make sure there were none to retry.
  const deadlocks =
    t.gateway.app.db.kind === 'postgres'
      ? (await t.gateway.app.db.pool.query(`SELECT deadlocks::int FROM pg_stat_database WHERE datname = current_database()`)).rows[0]
          .deadlocks
      : 0;
  expect(deadlocks).toBe(0);
});
