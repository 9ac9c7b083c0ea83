/**
 * Serialization failures and deadlocks are retried inside the service, then surface as a retryable
 * GraphQL error. The failures are real PostgreSQL errors, raised by a trigger installed in the test
 * database for one magic quantity.
 */
import { stockedSku } from '../helpers/factories';
import { ok } from '../helpers/gql';
import { startTestServer, type TestServer } from '../helpers/server';
import { usingPostgres } from '../helpers/db';
import { tuningEnv } from '../../src/config/tuning';

jest.setTimeout(60_000);

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ INVENTORY_TUNING: tuningEnv({ TX_MAX_RETRIES: 3 }) });
  // Sequences are not rolled back with the failing transaction, so they count attempts.
  await t.gateway.app.db.pool.query(`
    CREATE SEQUENCE test_attempts_40001;
    CREATE SEQUENCE test_attempts_40p01;
    CREATE FUNCTION test_fail() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      -- 777001: a serialization failure on every attempt.
      IF NEW.on_hand = 777001 AND nextval('test_attempts_40001') > 0 THEN
        RAISE EXCEPTION 'injected serialization failure' USING ERRCODE = '40001';
      END IF;
      -- 777002: a deadlock on the first two attempts only.
      IF NEW.on_hand = 777002 AND nextval('test_attempts_40p01') <= 2 THEN
        RAISE EXCEPTION 'injected deadlock' USING ERRCODE = '40P01';
      END IF;
      RETURN NEW;
    END $$;
    CREATE TRIGGER test_fail BEFORE UPDATE ON inventory_levels FOR EACH ROW EXECUTE FUNCTION test_fail();`);
});
afterAll(async () => {
  await t?.stop();
});

const SET = `mutation($input: InventorySetInput!) { inventorySet(input: $input) { inventoryLevel { onHand } userErrors { code } } }`;

async function attempts(seq: string): Promise<number> {
  const r = await t.gateway.app.db.pool.query(`SELECT last_value::int AS n, is_called FROM ${seq}`);
  return r.rows[0].is_called ? r.rows[0].n : 0;
}

test('a serialization failure that persists is retried TX_MAX_RETRIES times, then UNAVAILABLE with retry hints; nothing applied', async () => {
  const s = await stockedSku(t.gql, 5);
  const r = await t.gql(SET, { input: { sku: s.sku, warehouseCode: s.warehouseCode, quantity: 777001 } });
  expect(await attempts('test_attempts_40001')).toBe(4); // first try + 3 retries
  expect(r.body.data?.inventorySet ?? null).toBeNull();
  expect(r.body.errors).toEqual([
    {
      message: 'The service is temporarily unavailable; retry the request',
      path: ['inventorySet'],
      extensions: { code: 'UNAVAILABLE', retryable: true, retryAfterMs: 200 },
    },
  ]);
  expect(JSON.stringify(r.body)).not.toMatch(/injected|40001|trigger|stack/i);
  const lv = await ok(t.gql(`query($id: ID!) { inventoryLevel(id: $id) { onHand } }`, { id: s.level.id }));
  expect(lv.inventoryLevel.onHand).toBe(5);
});

test('a deadlock that clears up is retried transparently and applied exactly once', async () => {
  const s = await stockedSku(t.gql, 5);
  const r = await ok(t.gql(SET, { input: { sku: s.sku, warehouseCode: s.warehouseCode, quantity: 777002 } }));
  expect(r.inventorySet).toEqual({ inventoryLevel: { onHand: 777002 }, userErrors: [] });
  expect(await attempts('test_attempts_40p01')).toBe(3); // two deadlocks, then success
  const mv = await t.gateway.app.db.pool.query(
    `SELECT m.reason::text, m.quantity_delta AS delta FROM stock_movements m JOIN inventory_levels l ON l.id = m.inventory_level_id
      WHERE l.variant_id = (SELECT id FROM variants WHERE sku = $1) ORDER BY m.id`,
    [s.sku],
  );
  expect(mv.rows).toEqual([
    { reason: 'RECEIVED', delta: 5 },
    { reason: 'CORRECTION', delta: 777002 - 5 },
  ]);
});

(usingPostgres ? test : test.skip)(
  'a connection killed mid-transaction gives UNAVAILABLE with retry hints, not a hang or a 500; the retry with the same key applies once',
  async () => {
    const s = await stockedSku(t.gql, 10);
    const pool = t.gateway.app.db.pool;
    // 777003 holds the transaction in the trigger long enough to kill its backend.
    await pool.query(`CREATE FUNCTION test_sleep() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN IF NEW.on_hand = 777003 THEN PERFORM pg_sleep(10); END IF; RETURN NEW; END $$;
    CREATE TRIGGER test_sleep BEFORE UPDATE ON inventory_levels FOR EACH ROW EXECUTE FUNCTION test_sleep();`);
    const input = { sku: s.sku, warehouseCode: s.warehouseCode, quantity: 777003, idempotencyKey: `kill-${s.sku}` };
    const pending = t.gql(SET, { input });
    let killed = 0;
    for (let i = 0; i < 100 && !killed; i++) {
      await new Promise((r) => setTimeout(r, 50));
      killed = (
        await pool.query(`SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
        WHERE datname = current_database() AND pid <> pg_backend_pid() AND wait_event = 'PgSleep'`)
      ).rows[0].n;
    }
    expect(killed).toBe(1);
    const r = await pending;
    expect(r.status).toBe(200);
    expect(r.body.errors).toEqual([
      {
        message: 'The service is temporarily unavailable; retry the request',
        path: ['inventorySet'],
        extensions: { code: 'UNAVAILABLE', retryable: true, retryAfterMs: expect.any(Number) },
      },
    ]);
    expect(JSON.stringify(r.body)).not.toMatch(/terminat|administrator|stack/i);
    await pool.query(`DROP TRIGGER test_sleep ON inventory_levels`);
    // The change was rolled back with the connection; the same request with the same key now applies once.
    const again = await ok(t.gql(SET, { input }));
    expect(again.inventorySet).toEqual({ inventoryLevel: { onHand: 777003 }, userErrors: [] });
    const replay = await ok(t.gql(SET, { input }));
    expect(replay.inventorySet).toEqual({ inventoryLevel: { onHand: 777003 }, userErrors: [] });
    const moves = await pool.query(`SELECT count(*)::int AS n FROM stock_movements WHERE idempotency_key = $1`, [input.idempotencyKey]);
    expect(moves.rows[0].n).toBe(1);
  },
);

test('a replaced pooled connection runs the prepared hot statements again (embedded PGlite keeps one session for all)', async () => {
  const app = t.gateway.app;
  const s = await stockedSku(t.gql, 10);
  const ADJUST = `mutation($input: InventoryAdjustInput!) { inventoryAdjust(input: $input) { inventoryLevel { onHand } userErrors { code } } }`;
  const RESERVE = `mutation($input: InventoryReserveInput!) { inventoryReserve(input: $input) { reservation { status } userErrors { code } } }`;
  const round = async (onHand: number) => {
    expect(
      (await ok(t.gql(ADJUST, { input: { sku: s.sku, warehouseCode: s.warehouseCode, delta: 1, reason: 'CORRECTION' } }))).inventoryAdjust,
    ).toEqual({
      inventoryLevel: { onHand },
      userErrors: [],
    });
    expect(
      (await ok(t.gql(RESERVE, { input: { lines: [{ sku: s.sku, warehouseCode: s.warehouseCode, quantity: 1 }] } }))).inventoryReserve,
    ).toEqual({
      reservation: { status: 'ACTIVE' },
      userErrors: [],
    });
  };
  await round(11); // the writer's, the reservation batch's and the event hub's statements are prepared now
  for (const pool of new Set([app.db.pool, app.db.batchPool])) {
    const c = await pool.connect();
    c.release(true); // destroyed: the next statement gets a new connection
  }
  await round(12);
  // The event hub (on PGlite it shares the pool) still numbers every event.
  app.events!.poke();
  await app.events!.settle();
  const head = await app.db.pool.query(
    `SELECT (SELECT count(*)::int FROM outbox_events) AS pending,
            (SELECT head::int FROM event_streams WHERE store_id = $1) - (SELECT count(*)::int FROM event_log WHERE store_id = $1) AS unlogged`,
    [t.store.storeId],
  );
  expect(head.rows[0]).toEqual({ pending: 0, unlogged: 0 });
});
