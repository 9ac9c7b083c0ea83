/**
 * Reservation rows as services and loaders see them, and the one mapping between their columns
 * and fields (used by the reads and by the batched reservation statement, which returns the rows
 * it inserts). A line that is due but not yet swept reads as EXPIRED at once.
 */
import type { ReservationStatus } from '../../generated/prisma/enums';

export type { ReservationStatus };

export interface ReservationRow {
  id: string;
  storeId: string;
  status: ReservationStatus;
  reference: string | null;
  expiresAt: string;
  createdAt: string;
  updatedAt: string;
}

export interface ReservationLineRow {
  id: string;
  reservationId: string;
  inventoryLevelId: string;
  status: ReservationStatus;
  quantity: number;
  originalQuantity: number;
  committedQuantity: number;
  releasedQuantity: number;
  expiredQuantity: number;
  expiresAt: string;
  position: number;
}

type Fields<T> = [string, keyof T & string][];

/** The reservation row `r`: SQL expression → field. */
export const RES_FIELDS: Fields<ReservationRow> = [
  ['r.id', 'id'],
  ['r.store_id', 'storeId'],
  [`CASE WHEN r.status = 'ACTIVE' AND r.expires_at <= now() THEN 'EXPIRED' ELSE r.status::text END`, 'status'],
  ['r.reference', 'reference'],
  ['r.expires_at', 'expiresAt'],
  ['r.created_at', 'createdAt'],
  ['r.updated_at', 'updatedAt'],
];

/** The reservation line row `rl`: SQL expression → field. */
export const LINE_FIELDS: Fields<ReservationLineRow> = [
  ['rl.id', 'id'],
  ['rl.reservation_id', 'reservationId'],
  ['rl.inventory_level_id', 'inventoryLevelId'],
  [`CASE WHEN rl.status = 'ACTIVE' AND rl.expires_at <= now() THEN 'EXPIRED' ELSE rl.status::text END`, 'status'],
  ['rl.quantity', 'quantity'],
  ['rl.original_quantity', 'originalQuantity'],
  ['rl.committed_quantity', 'committedQuantity'],
  ['rl.released_quantity', 'releasedQuantity'],
  [`CASE WHEN rl.status = 'ACTIVE' AND rl.expires_at <= now() THEN rl.quantity ELSE rl.expired_quantity END`, 'expiredQuantity'],
  ['rl.expires_at', 'expiresAt'],
  ['rl.position', 'position'],
];

/** Select list of the fields, named "<prefix><field>". */
export const columns = (fields: [string, string][], prefix = '') =>
  fields.map(([expr, name]) => `${expr} AS "${prefix}${name}"`).join(', ');

/** The fields of one row selected with columns(fields, prefix), without the prefix. */
export function pick<T>(row: Record<string, unknown>, fields: [string, string][], prefix = ''): T {
  const o: Record<string, unknown> = {};
  for (const [, name] of fields) o[name] = row[prefix + name];
  return o as T;
}

/** Select lists of a reservation (`r`) and a line (`rl`). */
export const RES_COLUMNS = columns(RES_FIELDS);
export const LINE_COLUMNS = columns(LINE_FIELDS);
