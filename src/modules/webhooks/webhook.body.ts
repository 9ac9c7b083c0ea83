/**
 * The JSON body of a webhook delivery, built once (at its first attempt) and sent identically on
 * every attempt; WebhookDelivery.payload is this exact text. Ids are the API's global ids, so
 * `node(id:)` and `webhookDeliveryRetry(id:)` accept them as they are; the SKU, warehouse code
 * and the movement's note are included so that a receiver needs no call back.
 */
import { toGlobalId, type NodeType } from '../../graphql/ids';

/** What the sequencer stored for a delivery (outbox event → delivery row), plus looked-up names. */
export interface BodySource {
  id: string;
  eventSeq: string;
  topic: string;
  /** `{ sequence, occurredAt, data }`; data is the outbox event's payload (raw ids). */
  payload: unknown;
  sku: string | null;
  warehouseCode: string | null;
  note: string | null;
}

const ID_FIELDS: Record<string, NodeType> = {
  levelId: 'InventoryLevel',
  variantId: 'Variant',
  warehouseId: 'Warehouse',
  movementId: 'StockMovement',
};

const gid = (type: NodeType, raw: unknown) => (raw == null || raw === '' ? null : toGlobalId(type, String(raw)));

/** A stock movement's id as it appears in global ids (masked: IdMask in src/graphql/cursor-seal.ts). */
export type MovementIdMask = (id: string) => string;

export function deliveryBody(d: BodySource, maskMovement: MovementIdMask): string {
  const p = (d.payload ?? {}) as { sequence?: unknown; occurredAt?: unknown; data?: Record<string, unknown> };
  const src = p.data ?? {};
  const data: Record<string, unknown> = {
    levelId: gid('InventoryLevel', src.levelId),
    variantId: gid('Variant', src.variantId),
    warehouseId: gid('Warehouse', src.warehouseId),
    sku: d.sku,
    warehouseCode: d.warehouseCode,
  };
  for (const [k, v] of Object.entries(src)) {
    if (k in data) continue;
    data[k] =
      k === 'movementId'
        ? gid('StockMovement', v == null || v === '' ? v : maskMovement(String(v)))
        : ID_FIELDS[k]
          ? gid(ID_FIELDS[k], v)
          : v;
  }
  if (!('movementId' in data)) data.movementId = null;
  data.note = d.note;
  return JSON.stringify({
    deliveryId: toGlobalId('WebhookDelivery', d.id),
    eventId: d.eventSeq,
    topic: d.topic,
    sequence: p.sequence == null ? Number(d.eventSeq) : Number(p.sequence),
    occurredAt: p.occurredAt ?? null,
    data,
  });
}

/**
 * SQL columns that look up what deliveryBody needs beyond the row (`d` is webhook_deliveries),
 * only while the body is not fixed yet.
 */
export const BODY_SOURCE_COLUMNS = `d.body,
  CASE WHEN d.body IS NULL THEN (SELECT v.sku FROM variants v WHERE v.id = (d.payload->'data'->>'variantId')::uuid AND v.store_id = d.store_id) END AS sku,
  CASE WHEN d.body IS NULL THEN (SELECT w.code FROM warehouses w WHERE w.id = (d.payload->'data'->>'warehouseId')::uuid AND w.store_id = d.store_id) END AS "warehouseCode",
  CASE WHEN d.body IS NULL THEN (SELECT m.note FROM stock_movements m WHERE m.id = (d.payload->'data'->>'movementId')::int8 AND m.store_id = d.store_id) END AS note`;
