/**
 * Cart-level holds. A reservation has lines, each holding a quantity on one level until it is
 * released, committed (sold) or expires. All lines of a request succeed or none do.
 *
 * The units: reserve-batch.ts (the group-committed common case), reserve.ts (the general path,
 * with allocate.ts and allocate-splits.ts choosing the levels), settlement.ts (release, commit,
 * closing headers), extend.ts (renewal), store-settings.ts (the default allocation strategy),
 * reservation.rows.ts (reads by id). Lock order everywhere: levels in ascending id, then
 * reservation lines. Counters change only through the stock writer (../stock), which also
 * expires due lines lazily.
 */
import type { App } from '../../app';
import type { AuthInfo } from '../../graphql/scopes';
import { stockOperation } from '../stock';
import { RESERVE_OPERATION, type ReservationResult, type ReserveInput, type SettleInput } from './reservation.model';
import { extendInTx, type ExtendInput } from './extend';
import { reserveInTx } from './reserve';
import { reserveBatched } from './reserve-batch';
import { settleInTx } from './settlement';

export type { ReservationLineRow, ReservationRow, ReservationStatus } from '../stock';
export type { ExtendInput } from './extend';
export type {
  AllocationStrategy,
  LineQuantityInput,
  ReservationResult,
  ReserveInput,
  ReserveLineInput,
  SettleInput,
} from './reservation.model';
export { linesByIds, linesByReservationIds, reservationsByIds } from './reservation.rows';
export { settleHeaders } from './settlement';

const BLANK = { reservation: null, lines: [] };

export class ReservationService {
  constructor(private readonly app: App) {}

  async reserve(auth: AuthInfo, input: ReserveInput): Promise<ReservationResult> {
    const fast = await reserveBatched(this.app, auth, input);
    if (fast) return fast;
    return stockOperation<ReservationResult>(this.app, auth, RESERVE_OPERATION, input, BLANK, (tx) =>
      reserveInTx(this.app.config, tx, auth, input),
    );
  }

  release(auth: AuthInfo, input: SettleInput): Promise<ReservationResult> {
    return stockOperation<ReservationResult>(this.app, auth, 'reservationRelease', input, BLANK, (tx) =>
      settleInTx(tx, auth, input, 'release'),
    );
  }

  commit(auth: AuthInfo, input: SettleInput): Promise<ReservationResult> {
    return stockOperation<ReservationResult>(this.app, auth, 'reservationCommit', input, BLANK, (tx) =>
      settleInTx(tx, auth, input, 'commit'),
    );
  }

  /** Renews an active hold (extend.ts). */
  extend(auth: AuthInfo, input: ExtendInput): Promise<ReservationResult> {
    return stockOperation<ReservationResult>(this.app, auth, 'reservationExtend', input, BLANK, (tx) =>
      extendInTx(this.app.config, tx, auth, input),
    );
  }
}
