/**
 * The group-committed inventoryAdjust (ADJUST_BATCH_SQL through adjust-batch.ts) against the
 * one-transaction-per-request reference (InventoryService.adjust with path 'tx'), on twin
 * databases: the same catalogue, levels (every backorder policy, read-only warehouse, a missing
 * level) and reservations (some due, so those levels are left to the general path) under the same
 * ids on both. The same random requests (seeded) go in random batches through one batch statement
 * on one twin, and one by one on the other: first the requests the batch served, in arrival order,
 * then those it left, through the general path on both. After every batch the answers, levels,
 * ledger, outbox events and stored idempotency responses must be identical (the requests the
 * batch did not serve wrote nothing). A quarter of the requests carry an idempotency key: a fresh
 * one, or one of a small pool (so keys repeat within a batch and across batches: replays, reused
 * keys, the second request of a key in one batch). Then the race: hundreds of concurrent adjusts
 * on two levels never break a guard, and the ledger, the answers and the events add up to the
 * counters.
 */
import type { AuthInfo } from '../../src/graphql/scopes';
import { toGlobalId } from '../../src/graphql/ids';
import { tuningEnv } from '../../src/config/tuning';
import { statementScope } from '../../src/db/client';
import { adjustAnswer, adjustRequest, runAdjustBatch, type AdjustInput } from '../../src/modules/inventory/adjust-batch';
import { InventoryService, type LevelResult } from '../../src/modules/inventory/inventory.service';
import { rng } from '../helpers/rng';
import { startTestServer, type TestServer } from '../helpers/server';
import { ALL_EVENTS } from '../helpers/events';

const SEED = Number(process.env.ADJUST_BATCH_SEED ?? 20261202);
const random = rng(SEED);
const int = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)];
const uuid = () => {
  const h = Array.from({ length: 32 }, () => Math.floor(random() * 16).toString(16)).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
};

let batch: TestServer;
let tx: TestServer;
const STORE = uuid();
const WAREHOUSES = [
  { id: uuid(), code: 'W1', readOnly: false },
  { id: uuid(), code: 'W2', readOnly: false },
  { id: uuid(), code: 'W3', readOnly: true },
];
/** Policies by variant: DENY, CONTINUE with a limit, CONTINUE without, PREORDER, DENY with a CONTINUE override on W2. */
const POLICIES: [string, number | null][] = [
  ['DENY', null],
  ['CONTINUE', 12],
  ['CONTINUE', null],
  ['PREORDER', null],
  ['DENY', null],
];
const VARIANTS = POLICIES.map((_, i) => ({ id: uuid(), product: uuid(), sku: `SKU-${i}` }));
/** A variant with a level in W1 only: adjusting it in W2 is INVENTORY_NOT_FOUND. */
const LONELY = { id: uuid(), product: uuid(), sku: 'LONELY' };
const LEVELS: { id: string; sku: string; code: string }[] = [];
const actors: AuthInfo[] = ['key:a', 'key:b'].map((actor) => ({ keyId: uuid(), storeId: STORE, kind: 'sk', scopes: ['admin'], actor }));

function setupSql(): [string, unknown[]][] {
  const out: [string, unknown[]][] = [[`INSERT INTO stores (id, code, name) VALUES ($1, 'twin', 'Twin')`, [STORE]]];
  for (const w of WAREHOUSES)
    out.push([
      `INSERT INTO warehouses (id, store_id, code, name, read_only) VALUES ($1, $2, $3, $3, $4)`,
      [w.id, STORE, w.code, w.readOnly],
    ]);
  for (const [i, v] of [...VARIANTS, LONELY].entries()) {
    const [policy, limit] = POLICIES[i] ?? ['DENY', null];
    out.push([`INSERT INTO products (id, store_id, name) VALUES ($1, $2, $3)`, [v.product, STORE, v.sku]]);
    out.push([
      `INSERT INTO variants (id, store_id, product_id, sku, label, is_default, inventory_policy, backorder_limit)
       VALUES ($1, $2, $3, $4, 'Default', true, $5::"InventoryPolicy", $6)`,
      [v.id, STORE, v.product, v.sku, policy, limit],
    ]);
    for (const w of v === LONELY ? WAREHOUSES.slice(0, 1) : WAREHOUSES) {
      const level = uuid();
      LEVELS.push({ id: level, sku: v.sku, code: w.code });
      const onHand = int(0, 40);
      // Active reservation lines on some levels, a few already due (those levels are the general path's).
      const lines = Array.from({ length: int(0, 2) }, () => ({ q: int(1, 3), due: random() < 0.3, reservation: uuid(), line: uuid() }));
      const kept = lines.filter((l, j) => lines.slice(0, j + 1).reduce((n, x) => n + x.q, 0) <= onHand);
      out.push([
        `INSERT INTO inventory_levels (id, store_id, variant_id, warehouse_id, on_hand, reserved, safety_stock, low_stock_threshold,
             critical_threshold, incoming, inventory_policy, backorder_limit)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::"InventoryPolicy", $12)`,
        [
          level,
          STORE,
          v.id,
          w.id,
          onHand,
          kept.reduce((n, l) => n + l.q, 0),
          int(0, 4),
          int(0, 20),
          int(0, 5),
          (onHand * 7) % 23,
          i === 4 && w.code === 'W2' ? 'CONTINUE' : null,
          i === 4 && w.code === 'W2' ? 8 : null,
        ],
      ]);
      for (const l of kept) {
        const expires = l.due ? `now() - interval '1 minute'` : `now() + interval '1 hour'`;
        out.push([`INSERT INTO reservations (id, store_id, expires_at) VALUES ($1, $2, ${expires})`, [l.reservation, STORE]]);
        out.push([
          `INSERT INTO reservation_lines (id, store_id, reservation_id, inventory_level_id, quantity, original_quantity, expires_at)
           VALUES ($1, $2, $3, $4, $5, $5, ${expires})`,
          [l.line, STORE, l.reservation, level, l.q],
        ]);
      }
    }
  }
  return out;
}

let fresh = 0;
/** No key (3 in 4), a fresh key, or one of a pool of 12 (repeated: reused, twice in a batch). */
const randomKey = (): { idempotencyKey?: string } => {
  const roll = random();
  if (roll < 0.75) return {};
  return { idempotencyKey: roll < 0.87 ? `fresh-${++fresh}` : `pool-${int(1, 12)}` };
};
const keyed: { auth: AuthInfo; input: AdjustInput }[] = [];

/**
 * A random request: mostly by sku and code, some by ids; some refused by a guard, some the batch
 * cannot serve; one in 20 is an earlier keyed request sent again (a replay).
 */
function randomRequest(): { auth: AuthInfo; input: AdjustInput } {
  if (keyed.length && random() < 0.05) return pick(keyed);
  const r = addressedRequest();
  const input = { ...r.input, ...randomKey() };
  if (input.idempotencyKey) keyed.push({ auth: r.auth, input });
  return { auth: r.auth, input };
}

function addressedRequest(): { auth: AuthInfo; input: AdjustInput } {
  const auth = pick(actors);
  const v = random() < 0.05 ? LONELY : pick(VARIANTS);
  const code = random() < 0.06 ? 'W3' : pick(['W1', 'W2']);
  const roll = random();
  const delta = roll < 0.03 ? 2_147_483_000 : roll < 0.05 ? -2_147_483_000 : pick([-1, -1, 1]) * int(1, 30);
  const base = {
    delta,
    reason: pick(['CORRECTION', 'RECEIVED', 'DAMAGED', 'RETURN'] as const),
    ...(random() < 0.3 ? { note: `n${int(0, 9)}` } : {}),
  };
  const address = random();
  if (address < 0.03) return { auth, input: { ...base, sku: 'NO-SUCH-SKU', warehouseCode: code } };
  if (address < 0.15) {
    const level = LEVELS.find((l) => l.sku === v.sku && l.code === code);
    if (level) return { auth, input: { ...base, inventoryLevelId: toGlobalId('InventoryLevel', level.id) } };
  }
  if (address < 0.3) {
    const w = WAREHOUSES.find((x) => x.code === code)!;
    return { auth, input: { ...base, variantId: toGlobalId('Variant', v.id), warehouseId: toGlobalId('Warehouse', w.id) } };
  }
  return { auth, input: { ...base, sku: v.sku, warehouseCode: code } };
}

/** An answer without the commit time (the twins commit at different instants). */
const comparable = (r: LevelResult) => JSON.parse(JSON.stringify(r, (k, v) => (k === 'updatedAt' ? undefined : v)));

async function state(t: TestServer) {
  const q = async (sql: string) => (await t.gateway.app.db.pool.query(sql)).rows;
  return {
    levels: await q(`SELECT id, on_hand, reserved, safety_stock, version FROM inventory_levels ORDER BY id`),
    lines: await q(`SELECT id, status, quantity, expired_quantity FROM reservation_lines ORDER BY id`),
    movements: await q(
      `SELECT id::text, inventory_level_id, reason, quantity_delta, reserved_delta, on_hand_before, on_hand_after, reserved_before, reserved_after,
              note, actor, idempotency_key, reservation_id, safety_stock_before, safety_stock_after, incoming_before, incoming_after,
              low_stock_threshold_before, low_stock_threshold_after, critical_threshold_before, critical_threshold_after
         FROM stock_movements ORDER BY id`,
    ),
    events: await q(`SELECT store_id, topic, level_id, payload FROM ${ALL_EVENTS} e ORDER BY store_id, queued, ord`),
    keys: (await q(`SELECT key, operation, request_hash, response FROM idempotency_keys ORDER BY key`)).map((k) => ({
      ...k,
      response: comparable(k.response),
    })),
  };
}

beforeAll(async () => {
  // No sweeper: due lines stay due until a general-path change of their level expires them, on both twins alike.
  const env = { INVENTORY_TUNING: tuningEnv({ SWEEP_INTERVAL_MS: 3_600_000 }) };
  [batch, tx] = await Promise.all([startTestServer(env), startTestServer(env)]);
  const sql = setupSql();
  for (const t of [batch, tx]) for (const [text, params] of sql) await t.gateway.app.db.pool.query(text, params);
});
afterAll(async () => {
  await Promise.all([batch?.stop(), tx?.stop()]);
});

test(`random batches of adjusts give the answers, levels, ledger and events of one transaction each (seed ${SEED})`, async () => {
  const viaBatch = new InventoryService(batch.gateway.app);
  const viaTx = new InventoryService(tx.gateway.app);
  const seen = { served: 0, applied: 0, refused: 0, left: 0, atLimit: 0, batches: 0, keyedServed: 0, replayed: 0, reused: 0 };
  for (let n = 0; n < 60; n++) {
    const chunk = Array.from({ length: int(1, 12) }, randomRequest);
    const reqs = chunk.map((c) => adjustRequest(c.auth, c.input, 3600));
    const batchable = chunk.map((_, i) => i).filter((i) => reqs[i] !== null);
    const served = await runAdjustBatch(
      batch.gateway.app,
      batchable.map((i) => reqs[i]!),
    );
    seen.batches++;
    const answers = new Map<number, LevelResult>();
    batchable.forEach((i, j) => {
      const r = served[j];
      if (r) answers.set(i, adjustAnswer(r, chunk[i].input, chunk[i].auth));
    });
    // The reference: the served requests one transaction each, in arrival order.
    for (const i of answers.keys()) {
      const want = await viaTx.adjust(chunk[i].auth, chunk[i].input, 'tx');
      expect({ batch: n, request: i, answer: comparable(answers.get(i)!) }).toEqual({ batch: n, request: i, answer: comparable(want) });
      seen.served++;
      if (chunk[i].input.idempotencyKey) seen.keyedServed++;
      if (want.userErrors.length) seen.refused++;
      else seen.applied++;
      if (want.userErrors.some((e) => /Backorder limit/.test(e.message))) seen.atLimit++;
    }
    // What the batch did not serve wrote nothing: the twins are equal before the general path runs.
    expect({ batch: n, state: await state(batch) }).toEqual({ batch: n, state: await state(tx) });
    for (const [i, c] of chunk.entries()) {
      if (answers.has(i)) continue;
      seen.left++;
      const [a, b] = [await viaBatch.adjust(c.auth, c.input, 'tx'), await viaTx.adjust(c.auth, c.input, 'tx')];
      expect({ batch: n, request: i, answer: comparable(a) }).toEqual({ batch: n, request: i, answer: comparable(b) });
      if (a.replayed) seen.replayed++;
      if (a.userErrors.some((e) => e.code === 'IDEMPOTENCY_KEY_REUSED')) seen.reused++;
    }
  }
  const [x, y] = await Promise.all([state(batch), state(tx)]);
  expect(x).toEqual(y);
  // The random load exercised what it must: applied and refused requests, backorder limits, requests
  // the batch left (due lines, read-only, unknown, missing level), both event topics, a backorder.
  expect(seen.applied).toBeGreaterThan(100);
  expect(seen.refused).toBeGreaterThan(10);
  expect(seen.atLimit).toBeGreaterThan(0);
  expect(seen.left).toBeGreaterThan(10);
  // Keys: served by the batch and recorded there, replayed and refused as reused by the general path.
  expect(seen.keyedServed).toBeGreaterThan(20);
  expect(seen.replayed).toBeGreaterThan(3);
  expect(seen.reused).toBeGreaterThan(3);
  expect(x.keys.length).toBeGreaterThan(30);
  expect(x.movements.filter((m) => m.idempotency_key !== null).length).toBeGreaterThan(10);
  expect(x.movements.some((m) => m.reason === 'EXPIRY')).toBe(true);
  expect(new Set(x.events.map((e) => e.topic))).toEqual(new Set(['INVENTORY_UPDATED', 'STOCK_STATUS_CHANGED']));
  expect(x.events.some((e) => e.topic === 'INVENTORY_UPDATED' && e.payload.after.backordered > 0)).toBe(true);
});

test('racing adjusts on two levels never break a guard; answers, ledger and events add up to the counters', async () => {
  const app = batch.gateway.app;
  const service = new InventoryService(app);
  const pool = app.db.pool;
  // DENY (available ≥ 0 after a decrease) and CONTINUE with a limit of 5 (available ≥ −5).
  const race = [
    { sku: 'RACE-DENY', policy: 'DENY', limit: null, onHand: 20, safety: 2, allowance: 0 },
    { sku: 'RACE-CONT', policy: 'CONTINUE', limit: 5, onHand: 10, safety: 0, allowance: 5 },
  ].map((r) => ({ ...r, variant: uuid(), product: uuid(), level: uuid() }));
  for (const r of race) {
    await pool.query(`INSERT INTO products (id, store_id, name) VALUES ($1, $2, $3)`, [r.product, STORE, r.sku]);
    await pool.query(
      `INSERT INTO variants (id, store_id, product_id, sku, label, is_default, inventory_policy, backorder_limit)
       VALUES ($1, $2, $3, $4, 'Default', true, $5::"InventoryPolicy", $6)`,
      [r.variant, STORE, r.product, r.sku, r.policy, r.limit],
    );
    await pool.query(
      `INSERT INTO inventory_levels (id, store_id, variant_id, warehouse_id, on_hand, safety_stock) VALUES ($1, $2, $3, $4, $5, $6)`,
      [r.level, STORE, r.variant, WAREHOUSES[0].id, r.onHand, r.safety],
    );
  }
  const N = 300;
  const inputs = Array.from({ length: N }, (_, i) => {
    const r = race[i % 2];
    const delta = random() < 0.6 ? -int(1, 5) : int(1, 5);
    // A few carry an idempotency key: their batches record the keys' responses in a transaction.
    return {
      r,
      input: {
        sku: r.sku,
        warehouseCode: 'W1',
        delta,
        reason: 'CORRECTION' as const,
        ...(i % 10 === 3 ? { idempotencyKey: `race-${i}` } : {}),
      },
    };
  });
  // Statements sent for the requests (each request in its own scope; a batch's statement counts in
  // the scope of the request that started it; on PGlite the event hub's statements are not counted).
  const scopes: { statements: number }[] = new Array(N);
  // 16 clients, each sending its next request when its last one is answered: many batches, and
  // keyed transactions in between.
  const answers: LevelResult[] = new Array(N);
  await Promise.all(
    Array.from({ length: 16 }, async (_, c) => {
      for (let i = c; i < N; i += 16) {
        scopes[i] = { statements: 0 };
        answers[i] = await statementScope.run(scopes[i], () => service.adjust(actors[0], inputs[i].input));
      }
    }),
  );
  // Group commit happened: the requests sent fewer statements than one each, against at least 4
  // each of one transaction per request (a batch's statements count for the request that started
  // it: one for a batch without keys; BEGIN, the statement, the keys' responses and COMMIT with).
  expect(scopes.reduce((n, x) => n + x.statements, 0)).toBeLessThan(N);

  for (const r of race) {
    const mine = inputs.map((x, i) => ({ ...x, a: answers[i] })).filter((x) => x.r === r);
    const applied = mine.filter((x) => x.a.userErrors.length === 0);
    const refused = mine.filter((x) => x.a.userErrors.length > 0);
    expect(applied.length).toBeGreaterThan(20);
    expect(refused.length).toBeGreaterThan(0);
    for (const x of refused) {
      expect(x.input.delta).toBeLessThan(0);
      expect(x.a.userErrors.map((e) => e.code)).toEqual(['INSUFFICIENT_STOCK']);
    }
    // The answers form one chain: each applied change has its own version, from the one before.
    const chain = applied
      .map((x) => ({ delta: x.input.delta, level: x.a.inventoryLevel! }))
      .sort((p, q) => p.level.version - q.level.version);
    let onHand = r.onHand;
    chain.forEach((c, k) => {
      expect(c.level.version).toBe(k + 1);
      expect(c.level.onHand).toBe(onHand + c.delta);
      onHand = c.level.onHand;
      // The guard held at every step.
      if (c.delta < 0) expect(c.level.onHand - c.level.reserved - c.level.safetyStock).toBeGreaterThanOrEqual(-r.allowance);
    });
    const [row] = (await pool.query(`SELECT on_hand, version FROM inventory_levels WHERE id = $1`, [r.level])).rows;
    expect(row).toEqual({ on_hand: onHand, version: chain.length });
    // The ledger: one row per applied change, chained in id order, summing to the counter.
    const moves = (
      await pool.query(
        `SELECT quantity_delta, on_hand_before, on_hand_after FROM stock_movements WHERE inventory_level_id = $1 ORDER BY id`,
        [r.level],
      )
    ).rows;
    expect(moves).toHaveLength(chain.length);
    let h = r.onHand;
    for (const m of moves) {
      expect(m.on_hand_before).toBe(h);
      expect(m.on_hand_after).toBe(h + m.quantity_delta);
      h = m.on_hand_after;
    }
    expect(h).toBe(row.on_hand);
    expect(moves.map((m) => m.on_hand_after).sort((p, q) => p - q)).toEqual(chain.map((c) => c.level.onHand).sort((p, q) => p - q));
    const [{ n }] = (
      await pool.query(`SELECT count(*)::int AS n FROM ${ALL_EVENTS} e WHERE level_id = $1 AND topic = 'INVENTORY_UPDATED'`, [r.level])
    ).rows;
    expect(n).toBe(chain.length);
  }
});

test('one adjust alone is one statement', async () => {
  const app = batch.gateway.app;
  const service = new InventoryService(app);
  const level = LEVELS.find((l) => l.sku === 'SKU-2' && l.code === 'W1')!;
  // A level without due lines (the general path may have expired them already; expire any left).
  await service.adjust(actors[0], { inventoryLevelId: toGlobalId('InventoryLevel', level.id), delta: 1, reason: 'CORRECTION' }, 'tx');
  const scope = { statements: 0 };
  const r = await statementScope.run(scope, () =>
    service.adjust(actors[0], { sku: 'SKU-2', warehouseCode: 'W1', delta: 3, reason: 'RECEIVED' }),
  );
  expect(r.userErrors).toEqual([]);
  expect(scope.statements).toBe(1);
});
