/** Read side of reservations: filtered by (effective) status, reference, variant and warehouse. */
import { columnsOf } from '../../db/columns';
import { runPage, type Page, type PageRequest } from '../../db/keyset';
import type { Tx } from '../../db/tx';
import type { ReservationRow, ReservationStatus } from './reservation.service';

export interface ReservationFilter {
  statuses?: ReservationStatus[] | null;
  reference?: string | null;
  variantIds?: string[] | null;
  warehouseIds?: string[] | null;
  createdAfter?: Date | null;
}

/** Reservations whose expiry has passed count as EXPIRED at once, sweeper or not. */
const FROM = `(SELECT r.*, CASE WHEN r.status = 'ACTIVE' AND r.expires_at <= now() THEN 'EXPIRED' ELSE r.status::text END AS eff_status
  FROM reservations r WHERE r.store_id = $1) rs`;
const SELECT = columnsOf('reservation', 'rs', '', { status: 'rs.eff_status' });

export function reservationPage(tx: Tx, storeId: string, f: ReservationFilter, page: PageRequest): Promise<Page<ReservationRow>> {
  const params: unknown[] = [storeId];
  const where: string[] = [];
  const add = (sql: (n: number) => string, v: unknown) => {
    params.push(v);
    where.push(sql(params.length));
  };
  if (f.statuses) add((n) => `rs.eff_status = ANY($${n}::text[])`, f.statuses);
  if (f.reference != null) add((n) => `rs.reference = $${n}`, f.reference);
  const lineCond: string[] = [];
  if (f.variantIds) {
    params.push(f.variantIds);
    lineCond.push(`l.variant_id = ANY($${params.length}::uuid[])`);
  }
  if (f.warehouseIds) {
    params.push(f.warehouseIds);
    lineCond.push(`l.warehouse_id = ANY($${params.length}::uuid[])`);
  }
  if (lineCond.length) {
    where.push(`EXISTS (SELECT 1 FROM reservation_lines rl JOIN inventory_levels l ON l.id = rl.inventory_level_id AND l.store_id = rl.store_id
                         WHERE rl.store_id = rs.store_id AND rl.reservation_id = rs.id AND ${lineCond.join(' AND ')})`);
  }
  if (f.createdAfter) add((n) => `rs.created_at >= $${n}::timestamptz`, f.createdAfter);
  return runPage<ReservationRow>(
    tx,
    { select: SELECT, from: FROM, where, params, sort: { expr: 'rs.created_at', cast: 'timestamptz', idExpr: 'rs.id', idCast: 'uuid' } },
    page,
  );
}
