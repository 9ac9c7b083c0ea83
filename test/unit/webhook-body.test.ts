/** The webhook body: global ids, names, a fixed key order (pure). */
import { fromGlobalId } from '../../src/graphql/ids';
import { IdMask } from '../../src/graphql/cursor-seal';
import { deliveryBody } from '../../src/modules/webhooks/webhook.body';

const mask = new IdMask(Buffer.alloc(32, 7));

const LEVEL = '11111111-1111-4111-8111-111111111111';
const VARIANT = '22222222-2222-4222-8222-222222222222';
const WAREHOUSE = '33333333-3333-4333-8333-333333333333';
const DELIVERY = '44444444-4444-4444-8444-444444444444';

const source = (data: Record<string, unknown>, extra: Partial<Parameters<typeof deliveryBody>[0]> = {}) => ({
  id: DELIVERY,
  eventSeq: '1042',
  topic: 'INVENTORY_UPDATED',
  payload: { sequence: 1042, occurredAt: '2026-11-30T09:15:02.123+00:00', data },
  sku: 'TEE-BLK-M',
  warehouseCode: 'BER-1',
  note: 'order #1001',
  ...extra,
});

test('ids become the API global ids; sku, warehouse code and note are added; the order is fixed', () => {
  const body = deliveryBody(
    source({
      levelId: LEVEL,
      variantId: VARIANT,
      warehouseId: WAREHOUSE,
      reason: 'SALE',
      movementId: 991,
      expiredQuantity: 0,
      actor: 'key:sk_x',
      before: { onHand: 3 },
      after: { onHand: 0 },
    }),
    (id) => mask.seal(id),
  );
  const j = JSON.parse(body);
  expect(Object.keys(j)).toEqual(['deliveryId', 'eventId', 'topic', 'sequence', 'occurredAt', 'data']);
  expect(fromGlobalId(j.deliveryId)).toEqual({ type: 'WebhookDelivery', id: DELIVERY });
  expect(fromGlobalId(j.data.levelId)).toEqual({ type: 'InventoryLevel', id: LEVEL });
  expect(fromGlobalId(j.data.variantId)).toEqual({ type: 'Variant', id: VARIANT });
  expect(fromGlobalId(j.data.warehouseId)).toEqual({ type: 'Warehouse', id: WAREHOUSE });
  // The movement id is masked (it would show every store's movement count); the mask opens it.
  const movement = fromGlobalId(j.data.movementId)!;
  expect(movement.type).toBe('StockMovement');
  expect(movement.id).not.toContain('991');
  expect(mask.open(movement.id)).toBe('991');
  expect(Object.keys(j.data)).toEqual([
    'levelId',
    'variantId',
    'warehouseId',
    'sku',
    'warehouseCode',
    'reason',
    'movementId',
    'expiredQuantity',
    'actor',
    'before',
    'after',
    'note',
  ]);
  expect(j).toMatchObject({
    eventId: '1042',
    topic: 'INVENTORY_UPDATED',
    sequence: 1042,
    data: { sku: 'TEE-BLK-M', warehouseCode: 'BER-1', note: 'order #1001', reason: 'SALE' },
  });
  // Deterministic: the same source gives the same bytes.
  expect(
    deliveryBody(
      source({
        levelId: LEVEL,
        variantId: VARIANT,
        warehouseId: WAREHOUSE,
        reason: 'SALE',
        movementId: 991,
        expiredQuantity: 0,
        actor: 'key:sk_x',
        before: { onHand: 3 },
        after: { onHand: 0 },
      }),
      (id) => mask.seal(id),
    ),
  ).toBe(body);
  expect(body).toBe(JSON.stringify(j)); // compact: no whitespace between tokens
});

test('masked movement ids: stable, 22 characters, nothing of the number shows, made-up tokens do not open', () => {
  const a = mask.seal('991');
  expect(a).toMatch(/^[A-Za-z0-9_-]{22}$/);
  expect(mask.seal(991)).toBe(a);
  expect(mask.seal('992')).not.toBe(a);
  expect(mask.open(a)).toBe('991');
  expect(mask.open(mask.seal('9223372036854775807'))).toBe('9223372036854775807');
  // Another database's key, a flipped character, garbage: not an id of this database.
  expect(new IdMask(Buffer.alloc(32, 8)).open(a)).toBeNull();
  expect(mask.open((a[0] === 'A' ? 'B' : 'A') + a.slice(1))).toBeNull();
  expect(mask.open('not-a-token')).toBeNull();
});

test('a status event without a movement (older events) gets movementId and note null', () => {
  const j = JSON.parse(
    deliveryBody(
      source(
        { levelId: LEVEL, variantId: VARIANT, warehouseId: WAREHOUSE, previousStatus: 'IN_STOCK', status: 'OUT_OF_STOCK' },
        { topic: 'STOCK_OUT', note: null },
      ),
      (id) => mask.seal(id),
    ),
  );
  expect(j.data).toMatchObject({ movementId: null, note: null, previousStatus: 'IN_STOCK', status: 'OUT_OF_STOCK' });
});
