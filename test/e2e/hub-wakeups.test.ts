/**
 * Two gateways on one PostgreSQL database, in-process fan-out (no NATS_URL): the instance that
 * commits a change numbers its event and notifies `inventory_sequenced`; the other instance's hub,
 * woken by that notification, only reads the streams its subscribers follow. It runs no numbering
 * transaction for it (at 200 changes a second over 4 gateways, those were three quarters of the
 * database's transactions: bench/fanout-nats.ts reports transactions per delivered event), and it
 * reads only the streams the notification names. The committing instance ignores its own notifications.
 */
import { tuningEnv } from '../../src/config/tuning';
import type { Gateway } from '../../src/server';
import { usingPostgres } from '../helpers/db';
import { createProduct, createTestStore, createWarehouse } from '../helpers/factories';
import { ok } from '../helpers/gql';
import { startPeerGateway, startTestServer, type TestServer } from '../helpers/server';
import { subscribe } from '../helpers/ws';

jest.setTimeout(120_000);

let t: TestServer;
let other: Gateway;
beforeAll(async () => {
  if (!usingPostgres) return;
  // Both instances poll once a minute: within the test, only commits and notifications wake their hubs.
  t = await startTestServer({ INVENTORY_TUNING: tuningEnv({ EVENTS_POLL_MS: 60_000 }) });
  other = await startPeerGateway(t, { INVENTORY_TUNING: tuningEnv({ EVENTS_POLL_MS: 60_000 }) });
});
afterAll(async () => {
  await other?.stop();
  await t?.stop();
});

(usingPostgres ? test : test.skip)("another instance's numbering wakes a hub to read the streams it names, not to number", async () => {
  const wh = await createWarehouse(t.gql);
  const { skus } = await createProduct(t.gql);
  const ADJUST = `mutation($i: InventoryAdjustInput!) { inventoryAdjust(input: $i) { inventoryLevel { onHand } userErrors { code message } } }`;
  await ok(
    t.gql(`mutation($i: InventorySetInput!) { inventorySet(input: $i) { userErrors { code } } }`, {
      i: { sku: skus[0], warehouseCode: wh.code, quantity: 100 },
    }),
  );
  // The setting numbered before anyone subscribes: a subscription without `after` starts at its
  // store's head, and the setting's event, still queued, would be numbered after it and delivered.
  t.gateway.app.events!.poke();
  await t.gateway.app.events!.settle();
  const hub = other.app.events!;
  const SUB = `subscription { inventoryChanged { cursor after { onHand } } }`;
  const subscribed = async (key: string) => {
    const before = hub.fanout.subscriberCount;
    return subscribe(other.url, key, SUB, {}, { registered: () => hub.fanout.subscriberCount > before });
  };
  const sub = await subscribed(t.store.adminKey);
  // A subscriber of a quiet store on the same instance: its stream is not read for the other store's changes.
  const quiet = await subscribed((await createTestStore(t.gateway.app)).adminKey);
  try {
    // The committing instance numbers what it queued (its notifications it ignores), then the other
    // instance runs its own first numbering (as after any quiet half poll interval), which finds
    // nothing to number: no notification of it can reach the committing instance after the snapshot.
    const mineHub = t.gateway.app.events!;
    mineHub.poke();
    await mineHub.settle();
    hub.poke();
    await hub.settle();
    const pumps = { ...hub.pumps };
    const mine = { ...mineHub.pumps };
    const N = 10;
    for (let i = 1; i <= N; i++) {
      await ok(t.gql(ADJUST, { i: { sku: skus[0], warehouseCode: wh.code, delta: 1, reason: 'CORRECTION' } }));
      // One change at a time, each delivered before the next: each is its own wake-up.
      await sub.waitFor(i);
    }
    expect(sub.events.map((e) => e.after.onHand)).toEqual(Array.from({ length: N }, (_, i) => 101 + i));
    // The committing instance numbered every change; the other one only read.
    expect(mineHub.pumps.sequencing - mine.sequencing).toBeGreaterThanOrEqual(N);
    // Its own notifications did not wake it again: its pumps read what they numbered.
    expect(mineHub.pumps.readOnly - mine.readOnly).toBe(0);
    const reads = hub.pumps.readOnly - pumps.readOnly;
    expect(hub.pumps.sequencing - pumps.sequencing).toBe(0);
    expect(reads).toBeGreaterThanOrEqual(1);
    // Each read the one stream its notification named (the store that changed), not the quiet store's.
    expect(hub.pumps.readOnlyStreams - pumps.readOnlyStreams).toBe(reads);
    expect(quiet.events).toEqual([]);
  } finally {
    await sub.close();
    await quiet.close();
  }
});
