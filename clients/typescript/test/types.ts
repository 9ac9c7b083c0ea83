/**
 * Compile-time checks of the SDK's types: `tsc -p clients/typescript/test/tsconfig.json` must pass
 * (test/e2e/client.test.ts runs it). Nothing here runs.
 */
/* eslint-disable @typescript-eslint/no-unused-vars -- values declared only to check their types */
import {
  createInventoryClient,
  InventoryChangedDocument,
  type InventoryChangedEvent,
  type InventoryLevelFieldsFragment,
  type ResultOf,
} from '../src';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const assert = <T extends true>(_: T) => undefined;

export async function typeChecks() {
  const client = createInventoryClient({ url: 'http://localhost:4000/graphql', apiKey: 'sk_test' });

  // Variables are optional only when no variable is required.
  const levels = await client.inventoryLevels();
  const level: InventoryLevelFieldsFragment = levels.edges[0].node;
  assert<Equal<typeof level.available, number>>(true);
  assert<Equal<typeof levels.pageInfo.endCursor, string | null>>(true);
  // @ts-expect-error inventoryReserve needs its input
  await client.inventoryReserve();
  // @ts-expect-error quantity must be a number
  await client.inventoryReserve({ input: { lines: [{ sku: 'A', quantity: '1' }] } });
  // @ts-expect-error no such variable
  await client.products({ nope: 1 });

  // Mutations return their payload, with userErrors typed by code.
  const r = await client.inventoryReserve({ input: { lines: [{ sku: 'A', quantity: 1 }] } });
  assert<Equal<(typeof r.userErrors)[number]['code'] extends string ? true : false, true>>(true);
  // @ts-expect-error not a code of the API
  if (r.userErrors[0]?.code === 'NOT_A_CODE') return;

  // Enums are string unions.
  await client.inventoryLevels({ sortKey: 'AVAILABLE', filter: { statuses: ['LOW_STOCK'] } });
  // @ts-expect-error not a sort key
  await client.inventoryLevels({ sortKey: 'PRICE' });

  // request() with any typed document; paginate() over connection queries only.
  const data = await client.request(InventoryChangedDocument, { after: '0' });
  assert<Equal<typeof data, ResultOf<typeof InventoryChangedDocument>>>(true);
  for await (const p of client.paginate('products', { filter: { active: true } })) {
    assert<Equal<typeof p.totals.available, string>>(true);
  }
  // @ts-expect-error inventorySummary is not a connection
  client.paginate('inventorySummary');

  // Subscriptions hand out typed events.
  const stop = client.subscribe.inventoryChanged(
    { after: '0' },
    {
      next: (e) => {
        assert<Equal<typeof e, InventoryChangedEvent>>(true);
        assert<Equal<typeof e.after.onHand, number>>(true);
      },
    },
  );
  stop();
}
