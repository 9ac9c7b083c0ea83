/**
 * Settling reservations: release (units back to available), commit (units sold), and closing
 * headers that hold nothing any more (also for the sweeper's expiry).
 * Lock order: levels (ascending id), then the reservation's lines and header.
 */
import type { Tx } from '../../db/tx';
import { ErrorCode, userError, type UserErrorShape } from '../../graphql/errors';
import { decodeId } from '../../graphql/ids';
import type { AuthInfo } from '../../graphql/scopes';
import { applyLevelChange, type ReservationStatus } from '../stock';
import { loadResult } from './reservation.rows';
import { fail, RaceError, type ReservationResult, type SettleInput } from './reservation.model';

export type SettleAction = 'release' | 'commit';

interface LockedLine {
  id: string;
  level_id: string;
  status: ReservationStatus;
  due: boolean;
  quantity: number;
}

const isExpired = (l: LockedLine) => l.status === 'EXPIRED' || (l.status === 'ACTIVE' && l.due);

/** Locks the reservation's levels (ascending id), then its header and lines; returns the lines. */
async function lockReservation(tx: Tx, storeId: string, id: string): Promise<LockedLine[]> {
  await tx.query(
    `SELECT l.id FROM inventory_levels l
      WHERE l.store_id = $2 AND l.id IN (SELECT inventory_level_id FROM reservation_lines WHERE store_id = $2 AND reservation_id = $1)
      ORDER BY l.id FOR UPDATE`,
    [id, storeId],
  );
  await tx.query(`SELECT id FROM reservations WHERE store_id = $2 AND id = $1 FOR UPDATE`, [id, storeId]);
  return tx.query<LockedLine>(
    `SELECT rl.id, rl.inventory_level_id AS level_id, rl.status::text AS status, (rl.expires_at <= now()) AS due, rl.quantity
       FROM reservation_lines rl WHERE rl.store_id = $2 AND rl.reservation_id = $1 ORDER BY rl.position FOR UPDATE`,
    [id, storeId],
  );
}

/** What to settle per line id (the named lines, or every line that still holds), or the errors. */
function wanted(input: SettleInput, lines: LockedLine[]): { want: Map<string, number>; errors: UserErrorShape[] } {
  const want = new Map<string, number>();
  const errors: UserErrorShape[] = [];
  if (input.lines != null) {
    input.lines.forEach((q, i) => {
      const f = ['input', 'lines', i];
      const lineId = decodeId(q.lineId, 'ReservationLine');
      const line = lineId ? lines.find((l) => l.id === lineId) : undefined;
      if (!line)
        return void errors.push(
          userError(ErrorCode.RESERVATION_LINE_NOT_FOUND, 'This line does not belong to the reservation', [...f, 'lineId']),
        );
      if (!Number.isInteger(q.quantity) || q.quantity <= 0)
        return void errors.push(userError(ErrorCode.NEGATIVE_QUANTITY, 'quantity must be greater than 0', [...f, 'quantity']));
      want.set(line.id, (want.get(line.id) ?? 0) + q.quantity);
    });
  } else {
    // Expired lines are included so that releasing an expired reservation says so (whether or
    // not the sweeper has marked it yet), and committing one sells from available stock.
    for (const l of lines) {
      if (l.status === 'ACTIVE' || l.status === 'EXPIRED') want.set(l.id, l.quantity);
    }
  }
  return { want, errors };
}

/** The first reason the wanted quantities cannot be settled, or null. */
function settleRefusal(action: SettleAction, partial: boolean, want: Map<string, number>, lines: LockedLine[]): UserErrorShape | null {
  if (action === 'release' && lines.some((l) => want.has(l.id) && isExpired(l))) {
    return userError(ErrorCode.RESERVATION_EXPIRED, 'The reservation has expired; its units are already back in stock', [
      'input',
      'reservationId',
    ]);
  }
  for (const [lineId, q] of want) {
    const l = lines.find((x) => x.id === lineId)!;
    const settleable = l.status === 'ACTIVE' || (action === 'commit' && l.status === 'EXPIRED');
    if (!settleable)
      return userError(ErrorCode.RESERVATION_NOT_ACTIVE, `The reservation line is already ${l.status.toLowerCase()}`, [
        'input',
        partial ? 'lines' : 'reservationId',
      ]);
    if (q > l.quantity)
      return userError(ErrorCode.EXCEEDS_RESERVED, `Cannot ${action} ${q}: the line holds ${l.quantity}`, ['input', 'lines']);
  }
  if (want.size === 0 || [...want.values()].every((q) => q === 0)) {
    return userError(ErrorCode.RESERVATION_NOT_ACTIVE, 'Nothing is held by this reservation any more', ['input', 'reservationId']);
  }
  return null;
}

interface LevelDelta {
  dOn: number;
  dRes: number;
  fromAvailable: boolean;
}

/**
 * Per level: onHand and reserved deltas. An expired line no longer holds stock: committing it is
 * a sale from what is available now.
 */
function levelDeltas(action: SettleAction, want: Map<string, number>, lines: LockedLine[]): Map<string, LevelDelta> {
  const perLevel = new Map<string, LevelDelta>();
  for (const [lineId, q] of want) {
    const l = lines.find((x) => x.id === lineId)!;
    const p = perLevel.get(l.level_id) ?? { dOn: 0, dRes: 0, fromAvailable: false };
    if (action === 'release') p.dRes -= q;
    else if (isExpired(l)) {
      p.dOn -= q;
      p.fromAvailable = true;
    } else {
      p.dOn -= q;
      p.dRes -= q;
    }
    perLevel.set(l.level_id, p);
  }
  return perLevel;
}

const RELEASE_LINES_SQL = `UPDATE reservation_lines rl SET quantity = rl.quantity - a.q, released_quantity = rl.released_quantity + a.q,
                  status = CASE WHEN rl.quantity - a.q = 0 THEN 'RELEASED'::"ReservationStatus" ELSE rl.status END
             FROM unnest($1::uuid[], $2::int[]) AS a(id, q) WHERE rl.store_id = $3 AND rl.id = a.id`;
const COMMIT_LINES_SQL = `UPDATE reservation_lines rl SET quantity = rl.quantity - a.q, committed_quantity = rl.committed_quantity + a.q,
                  expired_quantity = CASE WHEN rl.status = 'EXPIRED' THEN rl.expired_quantity - a.q ELSE rl.expired_quantity END,
                  status = CASE WHEN rl.quantity - a.q = 0 THEN 'COMMITTED'::"ReservationStatus" ELSE rl.status END
             FROM unnest($1::uuid[], $2::int[]) AS a(id, q) WHERE rl.store_id = $3 AND rl.id = a.id`;

/** Releases or commits a reservation (or some of its lines), inside the transaction of stockOperation(). */
export async function settleInTx(tx: Tx, auth: AuthInfo, input: SettleInput, action: SettleAction): Promise<ReservationResult> {
  const id = decodeId(input.reservationId, 'Reservation');
  const notFound = () => fail(userError(ErrorCode.RESERVATION_NOT_FOUND, 'Reservation not found', ['input', 'reservationId']));
  if (!id) return notFound();
  const [head] = await tx.query<{ id: string }>(`SELECT id FROM reservations WHERE id = $1 AND store_id = $2`, [id, auth.storeId]);
  if (!head) return notFound();
  const partial = input.lines != null;
  if (partial && input.lines!.length === 0)
    return fail(
      userError(ErrorCode.INVALID_INPUT, 'lines must not be empty (omit it to settle the whole reservation)', ['input', 'lines']),
    );

  const lines = await lockReservation(tx, auth.storeId, id);
  const { want, errors } = wanted(input, lines);
  if (errors.length) return fail(...errors);
  const refusal = settleRefusal(action, partial, want, lines);
  if (refusal) return fail(refusal);

  const perLevel = levelDeltas(action, want, lines);
  for (const levelId of [...perLevel.keys()].sort()) {
    const p = perLevel.get(levelId)!;
    const r = await applyLevelChange(tx, {
      storeId: auth.storeId,
      levelId,
      mode: 'delta',
      onHandDelta: p.dOn,
      reservedDelta: p.dRes,
      requireAvailable: p.fromAvailable,
      reason: action === 'release' ? 'RELEASE' : 'COMMIT',
      actor: auth.actor,
      idempotencyKey: input.idempotencyKey,
      reservationId: id,
    });
    if (!r) throw new RaceError('level vanished');
    if (r.failure) {
      if (p.fromAvailable)
        return fail(
          userError(ErrorCode.RESERVATION_EXPIRED, 'The reservation expired and the stock is no longer available', [
            'input',
            'reservationId',
          ]),
        );
      throw new RaceError(`level ${levelId}: ${r.failure} under lock`);
    }
  }
  const ids = [...want.keys()];
  await tx.query(action === 'release' ? RELEASE_LINES_SQL : COMMIT_LINES_SQL, [ids, ids.map((k) => want.get(k)!), auth.storeId]);
  await settleHeaders(tx, [{ storeId: auth.storeId, id }]);
  return loadResult(tx, auth.storeId, id);
}

/**
 * Closes reservations that hold nothing any more: COMMITTED if anything was sold, else EXPIRED or
 * RELEASED. An EXPIRED one is re-evaluated too, so a late commit marks it COMMITTED.
 */
export async function settleHeaders(tx: Tx, refs: readonly { storeId: string; id: string }[]): Promise<void> {
  await tx.query(
    `UPDATE reservations r SET updated_at = now(), status = CASE
         WHEN EXISTS (SELECT 1 FROM reservation_lines x WHERE x.store_id = r.store_id AND x.reservation_id = r.id AND x.committed_quantity > 0)
           THEN 'COMMITTED'
         WHEN EXISTS (SELECT 1 FROM reservation_lines x WHERE x.store_id = r.store_id AND x.reservation_id = r.id AND x.status = 'EXPIRED')
           THEN 'EXPIRED'
         ELSE 'RELEASED' END::"ReservationStatus"
      WHERE (r.store_id, r.id) IN (SELECT * FROM unnest($1::uuid[], $2::uuid[])) AND r.status IN ('ACTIVE', 'EXPIRED')
        AND NOT EXISTS (SELECT 1 FROM reservation_lines x
                         WHERE x.store_id = r.store_id AND x.reservation_id = r.id AND x.status = 'ACTIVE' AND x.quantity > 0)`,
    [refs.map((r) => r.storeId), refs.map((r) => r.id)],
  );
}
