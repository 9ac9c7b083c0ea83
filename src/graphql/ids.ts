/** Opaque global IDs: base64url("<Type>:<uuid>"). Anything else decodes to null (NOT_FOUND). */
import { badInput } from './errors';
export type NodeType =
  | 'Product'
  | 'Variant'
  | 'Warehouse'
  | 'InventoryLevel'
  | 'Reservation'
  | 'ReservationLine'
  | 'StockMovement'
  | 'Store'
  | 'WebhookSubscription'
  | 'WebhookDelivery'
  | 'InboundShipment'
  | 'InboundShipmentLine'
  | 'InventoryTransfer'
  | 'InventoryTransferLine';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** A stock movement's id part: its masked id (IdMask in cursor-seal.ts), or the bare number global ids held before. */
const MOVEMENT = /^(\d{1,18}|[A-Za-z0-9_-]{22})$/;

export function toGlobalId(type: NodeType, id: string | number | bigint): string {
  return Buffer.from(`${type}:${id}`).toString('base64url');
}

export function fromGlobalId(gid: unknown, expected?: NodeType): { type: NodeType; id: string } | null {
  if (typeof gid !== 'string' || gid.length === 0 || gid.length > 200) return null;
  const raw = Buffer.from(gid, 'base64url').toString('utf8');
  const i = raw.indexOf(':');
  if (i < 0) return null;
  const type = raw.slice(0, i) as NodeType;
  const id = raw.slice(i + 1);
  if (expected && type !== expected) return null;
  if (type === 'StockMovement' ? !MOVEMENT.test(id) : !UUID.test(id)) return null;
  if (toGlobalId(type, id) !== gid) return null; // reject non-canonical encodings
  return { type, id };
}

/** The raw id for an expected type, or null for a malformed, foreign-typed or non-canonical id. */
export function decodeId(gid: unknown, expected: NodeType): string | null {
  return fromGlobalId(gid, expected)?.id ?? null;
}

/** Decodes a filter's list of global ids; a malformed or foreign-typed one is BAD_USER_INPUT naming the argument. */
export function decodeIdList(gids: readonly string[] | null | undefined, expected: NodeType, argument: string): string[] | null {
  if (gids == null) return null;
  return gids.map((g, i) => {
    const id = decodeId(g, expected);
    if (!id) throw badInput(`${argument}[${i}] is not a ${expected} id`, { argument });
    return id;
  });
}
