/** Reservations' per-request DataLoaders (src/graphql/loaders.ts). */
import { byKey, defineLoader, groupBy } from '../../graphql/loaders';
import type { ReservationLineRow, ReservationRow } from '../stock';
import { linesByIds, linesByReservationIds, reservationsByIds } from './reservation.rows';

export const reservationById = defineLoader<string, ReservationRow | null>('reservationById', async (tx, sid, ids) =>
  byKey(ids, await reservationsByIds(tx, sid, ids), (r) => r.id),
);
export const linesByReservationId = defineLoader<string, ReservationLineRow[]>('linesByReservationId', async (tx, sid, ids) =>
  groupBy(ids, await linesByReservationIds(tx, sid, ids), (r) => r.reservationId),
);
export const lineById = defineLoader<string, ReservationLineRow | null>('lineById', async (tx, sid, ids) =>
  byKey(ids, await linesByIds(tx, sid, ids), (r) => r.id),
);
