/** Reservation rows by id (loaders, results), mapped with the stock core's reservation fields. */
import type { Tx } from '../../db/tx';
import { LINE_COLUMNS, RES_COLUMNS, type ReservationLineRow, type ReservationRow } from '../stock';
import type { ReservationResult } from './reservation.model';

export async function reservationsByIds(tx: Tx, storeId: string, ids: readonly string[]): Promise<ReservationRow[]> {
  return tx.query<ReservationRow>(`SELECT ${RES_COLUMNS} FROM reservations r WHERE r.store_id = $1 AND r.id = ANY($2::uuid[])`, [
    storeId,
    ids,
  ]);
}

export async function linesByReservationIds(tx: Tx, storeId: string, ids: readonly string[]): Promise<ReservationLineRow[]> {
  return tx.query<ReservationLineRow>(
    `SELECT ${LINE_COLUMNS} FROM reservation_lines rl WHERE rl.store_id = $1 AND rl.reservation_id = ANY($2::uuid[]) ORDER BY rl.position`,
    [storeId, ids],
  );
}

export async function linesByIds(tx: Tx, storeId: string, ids: readonly string[]): Promise<ReservationLineRow[]> {
  return tx.query<ReservationLineRow>(
    `SELECT ${LINE_COLUMNS} FROM reservation_lines rl WHERE rl.store_id = $1 AND rl.id = ANY($2::uuid[])`,
    [storeId, ids],
  );
}

/** A reservation and its lines, as a mutation answers them. */
export async function loadResult(tx: Tx, storeId: string, id: string): Promise<ReservationResult> {
  const [reservation] = await reservationsByIds(tx, storeId, [id]);
  return { reservation: reservation ?? null, lines: reservation ? await linesByReservationIds(tx, storeId, [id]) : [], userErrors: [] };
}
