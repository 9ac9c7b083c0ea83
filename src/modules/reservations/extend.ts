/**
 * reservationExtend: renews an active hold, for carts that stay active. The hold then lasts until
 * `now + ttlSeconds` (1..RESERVATION_TTL_MAX_SECONDS), or longer if it already did: an extension
 * never shortens one. Counters do not change (the units stay held), so there is no ledger row and
 * no event; the reservation's and its holding lines' expiresAt move.
 *
 * Lock order as in settlement.ts minus the levels (nothing changes on them): the header, then the
 * lines in position order. The lazy expiry of the stock writer and the sweeper update the same
 * line rows, so whichever comes second sees the other's outcome: a line already expired is
 * RESERVATION_EXPIRED here, and a line extended here is no longer due for them.
 */
import type { Config } from '../../config';
import type { Tx } from '../../db/tx';
import { ErrorCode, userError, type UserErrorShape } from '../../graphql/errors';
import { decodeId } from '../../graphql/ids';
import type { AuthInfo } from '../../graphql/scopes';
import type { ReservationStatus } from '../stock';
import { fail, type ReservationResult } from './reservation.model';
import { loadResult } from './reservation.rows';

export interface ExtendInput {
  reservationId: string;
  ttlSeconds: number;
  idempotencyKey?: string | null;
}

interface LockedLine {
  status: ReservationStatus;
  quantity: number;
  due: boolean;
}

/** Why this reservation cannot be extended, or null. */
function extendRefusal(status: ReservationStatus, lines: LockedLine[]): UserErrorShape | null {
  const f = ['input', 'reservationId'];
  const holding = lines.filter((l) => l.status === 'ACTIVE' && l.quantity > 0);
  if (status === 'EXPIRED' || lines.some((l) => l.status === 'EXPIRED') || holding.some((l) => l.due))
    return userError(ErrorCode.RESERVATION_EXPIRED, 'The reservation has expired; its units are back in stock (reserve again)', f);
  if (status !== 'ACTIVE') return userError(ErrorCode.RESERVATION_NOT_ACTIVE, `The reservation is already ${status.toLowerCase()}`, f);
  if (holding.length === 0) return userError(ErrorCode.RESERVATION_NOT_ACTIVE, 'Nothing is held by this reservation any more', f);
  return null;
}

/** reservationExtend, inside the transaction of stockOperation(). */
export async function extendInTx(config: Config, tx: Tx, auth: AuthInfo, input: ExtendInput): Promise<ReservationResult> {
  const ttl = input.ttlSeconds;
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > config.reservationTtlMaxSeconds)
    return fail(
      userError(ErrorCode.INVALID_TTL, `ttlSeconds must be between 1 and ${config.reservationTtlMaxSeconds}`, ['input', 'ttlSeconds']),
    );
  const id = decodeId(input.reservationId, 'Reservation');
  const [head] = id
    ? await tx.query<{ status: ReservationStatus }>(
        `SELECT status::text AS status FROM reservations WHERE id = $1 AND store_id = $2 FOR UPDATE`,
        [id, auth.storeId],
      )
    : [];
  if (!head) return fail(userError(ErrorCode.RESERVATION_NOT_FOUND, 'Reservation not found', ['input', 'reservationId']));
  const lines = await tx.query<LockedLine>(
    `SELECT status::text AS status, quantity, (expires_at <= now()) AS due
       FROM reservation_lines WHERE reservation_id = $1 ORDER BY position FOR UPDATE`,
    [id],
  );
  const refusal = extendRefusal(head.status, lines);
  if (refusal) return fail(refusal);
  await tx.query(
    `WITH l AS (
       UPDATE reservation_lines SET expires_at = greatest(expires_at, now() + make_interval(secs => $2))
        WHERE reservation_id = $1 AND status = 'ACTIVE' AND quantity > 0
     )
     UPDATE reservations SET expires_at = greatest(expires_at, now() + make_interval(secs => $2)), updated_at = now() WHERE id = $1`,
    [id, ttl],
  );
  return loadResult(tx, auth.storeId, id!);
}
