/**
 * The stock core's transfer operations (a move that takes time). Each is a guarded statement on the
 * transfer line, then writer changes that recompute incoming at the destination from the lines:
 *  - ship: onHand −q at the source (TRANSFER_OUT, available must stay ≥ 0) and the line's units in
 *    transit raise incoming at the destination (TRANSFER_SHIPPED);
 *  - receive: received += q (never beyond what is in transit), onHand +q at the destination
 *    (TRANSFER_IN);
 *  - write off: lost += q (never beyond what is in transit), incoming falls (TRANSFER_LOST).
 * Conservation per line (CHECK transfer_lines_quantity_check): received + lost + in transit = shipped.
 * Callers lock the transfer row, then the levels (lockLevels(), ascending id order), first.
 */
import type { Tx } from '../../db/tx';
import type { InboundChangeBase, InboundOutcome } from './inbound';
import type { ChangeResult, LevelChange } from './types';
import { applyLevelChange } from './writer';

export interface TransferLineShip {
  transferId: string;
  storeId: string;
  variantId: string;
  sourceLevelId: string;
  destinationLevelId: string;
  quantity: number;
  position: number;
}

/** Inserts a shipped transfer's lines (their units are in transit from now on); returns their ids in order. */
export async function insertTransferLines(tx: Tx, lines: readonly TransferLineShip[]): Promise<string[]> {
  const col = <K extends keyof TransferLineShip>(k: K) => lines.map((l) => l[k]);
  const rows = await tx.query<{ id: string; position: number }>(
    `INSERT INTO transfer_lines (transfer_id, store_id, variant_id, source_level_id, destination_level_id, quantity, position)
     SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::uuid[], $6::int[], $7::int[])
     RETURNING id, position`,
    [
      col('transferId'),
      col('storeId'),
      col('variantId'),
      col('sourceLevelId'),
      col('destinationLevelId'),
      col('quantity'),
      col('position'),
    ],
  );
  return [...rows].sort((a, b) => a.position - b.position).map((r) => r.id);
}

/** The source's change of a shipped line: onHand −q (TRANSFER_OUT), with a TRANSFER_SHIPPED event. */
export function shipFromSource(
  tx: Tx,
  b: InboundChangeBase & { transferId: string; quantity: number; payload: Record<string, unknown> },
): Promise<ChangeResult | null> {
  return applyLevelChange(tx, {
    storeId: b.storeId,
    levelId: b.levelId,
    mode: 'delta',
    onHandDelta: -b.quantity,
    requireAvailable: true,
    // Only units on hand are shipped: a backorder policy does not let the source go below zero.
    allowBackorder: false,
    reason: 'TRANSFER_OUT',
    note: b.note,
    actor: b.actor,
    idempotencyKey: b.idempotencyKey,
    transferId: b.transferId,
    event: { topic: 'TRANSFER_SHIPPED', payload: { ...b.payload, quantity: b.quantity } },
  });
}

/** The destination's change when lines of a transfer were shipped to it: incoming recomputed (TRANSFER_SHIPPED). */
export function shipToDestination(tx: Tx, b: InboundChangeBase & { transferId: string }): Promise<ChangeResult | null> {
  return applyLevelChange(tx, destinationChange(b, { reason: 'TRANSFER_SHIPPED' }));
}

const destinationChange = (
  b: InboundChangeBase & { transferId: string },
  c: Partial<LevelChange> & Pick<LevelChange, 'reason'>,
): LevelChange => ({
  storeId: b.storeId,
  levelId: b.levelId,
  mode: 'delta',
  onHandDelta: 0,
  actor: b.actor,
  note: b.note,
  idempotencyKey: b.idempotencyKey,
  transferId: b.transferId,
  recomputeIncoming: true,
  allowUncoveredPreorders: b.allowUncoveredPreorders,
  ...c,
});

const IN_TRANSIT_SQL = `SELECT quantity - received_quantity - lost_quantity AS open FROM transfer_lines WHERE id = $1 AND transfer_id = $2 AND store_id = $3`;

async function refusal(tx: Tx, storeId: string, lineId: string, transferId: string): Promise<InboundOutcome> {
  const [cur] = await tx.query<{ open: number }>(IN_TRANSIT_SQL, [lineId, transferId, storeId]);
  return cur ? { refused: 'EXCEEDS_IN_TRANSIT', limit: Number(cur.open) } : { refused: 'LINE_NOT_FOUND', limit: 0 };
}

/** Receives units of a transfer line at the destination (TRANSFER_IN, TRANSFER_RECEIVED event). */
export async function receiveTransferLine(
  tx: Tx,
  b: InboundChangeBase & { transferId: string; lineId: string; quantity: number; payload: Record<string, unknown> },
): Promise<InboundOutcome> {
  const rows = await tx.query(
    `UPDATE transfer_lines SET received_quantity = received_quantity + $3
      WHERE id = $1 AND transfer_id = $2 AND store_id = $4 AND received_quantity + lost_quantity + $3 <= quantity RETURNING id`,
    [b.lineId, b.transferId, b.quantity, b.storeId],
  );
  if (!rows[0]) return refusal(tx, b.storeId, b.lineId, b.transferId);
  const change = await applyLevelChange(
    tx,
    destinationChange(b, {
      reason: 'TRANSFER_IN',
      onHandDelta: b.quantity,
      event: { topic: 'TRANSFER_RECEIVED', payload: { ...b.payload, lineId: b.lineId, quantity: b.quantity } },
    }),
  );
  return { change };
}

/** Writes off units still in transit on a line (TRANSFER_LOST): incoming at the destination falls. */
export async function writeOffTransferLine(
  tx: Tx,
  b: InboundChangeBase & { transferId: string; lineId: string; quantity: number; lossReason: string },
): Promise<InboundOutcome> {
  const rows = await tx.query(
    `UPDATE transfer_lines SET lost_quantity = lost_quantity + $3, lost_reason = $4
      WHERE id = $1 AND transfer_id = $2 AND store_id = $5 AND received_quantity + lost_quantity + $3 <= quantity RETURNING id`,
    [b.lineId, b.transferId, b.quantity, b.lossReason, b.storeId],
  );
  if (!rows[0]) return refusal(tx, b.storeId, b.lineId, b.transferId);
  return { change: await applyLevelChange(tx, destinationChange(b, { reason: 'TRANSFER_LOST' })) };
}
