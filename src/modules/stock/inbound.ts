/**
 * The stock core's inbound operations: the lines whose open quantities make a level's `incoming`
 * (inbound shipment lines, transfer lines in transit), each changed by one guarded statement
 * (`UPDATE … WHERE guard RETURNING`, never read-then-write), followed by ONE writer change of the
 * level that recomputes incoming from the lines (INCOMING_OF) and writes the ledger row and events.
 *
 * Callers lock, in this order, the shipment or transfer row, then every level they touch
 * (lockLevels(), ascending id order), and only then call these functions: the writer's statement
 * then starts after the lock, so its snapshot sees every committed line of the level.
 */
import type { Tx } from '../../db/tx';
import { INCOMING_OF } from './incoming-sql';
import type { ChangeResult, LevelChange } from './types';
import { applyLevelChange } from './writer';

/** What the caller names in the ledger and the events. */
export interface InboundChangeBase {
  storeId: string;
  levelId: string;
  actor: string;
  note?: string | null;
  /** The operation's idempotency key, recorded on its ledger rows (as every keyed stock change). */
  idempotencyKey?: string | null;
  /** Accept lowering incoming below what preorders were sold against (LevelChange.allowUncoveredPreorders). */
  allowUncoveredPreorders?: boolean;
}

/** A line guard refused the change; nothing was written. */
export interface LineRefusal {
  refused: 'BELOW_RECEIVED' | 'OVER_RECEIPT' | 'EXCEEDS_IN_TRANSIT' | 'BELOW_OPEN_INBOUND' | 'LINE_NOT_FOUND';
  /** The quantity the guard allowed at most (remaining to receive, in transit, …). */
  limit: number;
}

export type InboundOutcome = { change: ChangeResult | null } | LineRefusal;

const recompute = (b: InboundChangeBase, c: Partial<LevelChange> & Pick<LevelChange, 'reason'>): LevelChange => ({
  storeId: b.storeId,
  levelId: b.levelId,
  mode: 'delta',
  onHandDelta: 0,
  actor: b.actor,
  note: b.note,
  idempotencyKey: b.idempotencyKey,
  recomputeIncoming: true,
  allowUncoveredPreorders: b.allowUncoveredPreorders,
  ...c,
});

/**
 * Sets the expected quantity of a shipment's line on a level (inserting the line), refused below
 * what was already received or cancelled on it; incoming is recomputed (INBOUND_EXPECTED).
 */
export async function setInboundLine(
  tx: Tx,
  b: InboundChangeBase & { shipmentId: string; quantity: number; position: number },
): Promise<InboundOutcome> {
  const rows = await tx.query<{ id: string }>(
    `INSERT INTO inbound_lines (shipment_id, store_id, inventory_level_id, quantity, position) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (store_id, shipment_id, inventory_level_id) DO UPDATE SET quantity = excluded.quantity, position = excluded.position
      WHERE inbound_lines.received_quantity + inbound_lines.cancelled_quantity <= excluded.quantity
     RETURNING id`,
    [b.shipmentId, b.storeId, b.levelId, b.quantity, b.position],
  );
  if (!rows[0]) {
    const [l] = await tx.query<{ done: number }>(
      `SELECT received_quantity + cancelled_quantity AS done FROM inbound_lines WHERE shipment_id = $1 AND inventory_level_id = $2 AND store_id = $3`,
      [b.shipmentId, b.levelId, b.storeId],
    );
    return { refused: 'BELOW_RECEIVED', limit: Number(l?.done ?? 0) };
  }
  return { change: await applyLevelChange(tx, recompute(b, { reason: 'INBOUND_EXPECTED', inboundShipmentId: b.shipmentId })) };
}

/** Cancels what is still open on a shipment's line on a level (INBOUND_CANCELLED). */
export async function cancelInboundLine(tx: Tx, b: InboundChangeBase & { shipmentId: string }): Promise<InboundOutcome> {
  await tx.query(
    `UPDATE inbound_lines SET cancelled_quantity = cancelled_quantity + greatest(quantity - received_quantity - cancelled_quantity, 0)
      WHERE shipment_id = $1 AND inventory_level_id = $2 AND store_id = $3 AND quantity - received_quantity - cancelled_quantity > 0`,
    [b.shipmentId, b.levelId, b.storeId],
  );
  return { change: await applyLevelChange(tx, recompute(b, { reason: 'INBOUND_CANCELLED', inboundShipmentId: b.shipmentId })) };
}

/**
 * Receives units of a shipment's line: received += quantity, refused beyond the open quantity
 * unless `allowOver`; then onHand += quantity and incoming recomputed in ONE change (RECEIVED,
 * naming the shipment, with an INBOUND_RECEIVED event).
 */
export async function receiveInboundLine(
  tx: Tx,
  b: InboundChangeBase & { shipmentId: string; lineId: string; quantity: number; allowOver: boolean; payload: Record<string, unknown> },
): Promise<InboundOutcome> {
  const [l] = await tx.query<{ open_before: number }>(
    `UPDATE inbound_lines SET received_quantity = received_quantity + $3
      WHERE id = $1 AND shipment_id = $2 AND store_id = $5 AND ($4::bool OR received_quantity + cancelled_quantity + $3 <= quantity)
     RETURNING greatest(quantity - (received_quantity - $3) - cancelled_quantity, 0) AS open_before`,
    [b.lineId, b.shipmentId, b.quantity, b.allowOver, b.storeId],
  );
  if (!l) {
    const [cur] = await tx.query<{ open: number }>(
      `SELECT greatest(quantity - received_quantity - cancelled_quantity, 0) AS open FROM inbound_lines WHERE id = $1 AND shipment_id = $2 AND store_id = $3`,
      [b.lineId, b.shipmentId, b.storeId],
    );
    return cur ? { refused: 'OVER_RECEIPT', limit: Number(cur.open) } : { refused: 'LINE_NOT_FOUND', limit: 0 };
  }
  const over = Math.max(0, b.quantity - Number(l.open_before));
  const change = await applyLevelChange(
    tx,
    recompute(b, {
      reason: 'RECEIVED',
      onHandDelta: b.quantity,
      inboundShipmentId: b.shipmentId,
      event: { topic: 'INBOUND_RECEIVED', payload: { ...b.payload, lineId: b.lineId, quantity: b.quantity, overReceived: over } },
    }),
  );
  return { change };
}

/**
 * The deprecated inventoryLevelUpdate(incoming): sets the open quantity of the level's line in the
 * store's manual shipment so that the level's incoming becomes `incoming`; refused below what open
 * shipments and transfers already bring. The caller's change then recomputes incoming.
 */
export async function setManualIncoming(tx: Tx, storeId: string, levelId: string, incoming: number): Promise<LineRefusal | null> {
  await tx.query(
    `INSERT INTO inbound_shipments (store_id, reference, source, manual, note)
     VALUES ($1, 'MANUAL', 'inventoryLevelUpdate(incoming)', true, 'Incoming set by inventoryLevelUpdate (deprecated)')
     ON CONFLICT (store_id) WHERE manual DO NOTHING`,
    [storeId],
  );
  const [r] = await tx.query<{ others: string; id: string }>(
    `SELECT s.id, ${INCOMING_OF('$1::uuid', '$2::uuid')} - coalesce((SELECT greatest(quantity - received_quantity - cancelled_quantity, 0)
              FROM inbound_lines WHERE store_id = s.store_id AND shipment_id = s.id AND inventory_level_id = $2), 0) AS others
       FROM inbound_shipments s WHERE s.store_id = $1 AND s.manual`,
    [storeId, levelId],
  );
  const others = Number(r.others);
  if (incoming < others) return { refused: 'BELOW_OPEN_INBOUND', limit: others };
  await tx.query(
    `INSERT INTO inbound_lines (shipment_id, store_id, inventory_level_id, quantity) VALUES ($1, $2, $3, $4)
     ON CONFLICT (store_id, shipment_id, inventory_level_id)
     DO UPDATE SET quantity = inbound_lines.received_quantity + inbound_lines.cancelled_quantity + $4`,
    [r.id, storeId, levelId, incoming - others],
  );
  return null;
}
