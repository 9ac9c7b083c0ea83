/**
 * Transfers in transit: ship (onHand leaves the source at once, incoming rises at the destination),
 * receive (partial, repeated) and write off what was lost, each in one transaction, optionally
 * keyed. Stock changes only through the stock core; locks: the transfer row, then its levels in
 * ascending id order. inventoryMove stays the instant transfer.
 */
import type { App } from '../../app';
import type { Tx } from '../../db/tx';
import { ErrorCode, userError, type UserErrorShape } from '../../graphql/errors';
import { decodeId } from '../../graphql/ids';
import type { AuthInfo } from '../../graphql/scopes';
import { noteErrors, quantityErrors } from '../inventory';
import {
  insertTransferLines,
  lockLevels,
  receiveTransferLine,
  shipFromSource,
  shipToDestination,
  stockOperation,
  writeOffTransferLine,
  type InboundOutcome,
  type OpResult,
} from '../stock';
import { changeError, duplicateErrors, lineCountErrors, refuse, refusalError, textErrors, writableLevel, type Path } from './inbound.rules';

export interface TransferShipInput {
  reference?: string | null;
  fromWarehouseId?: string | null;
  fromWarehouseCode?: string | null;
  toWarehouseId?: string | null;
  toWarehouseCode?: string | null;
  expectedAt?: Date | null;
  note?: string | null;
  lines: { variantId?: string | null; sku?: string | null; quantity: number }[];
  idempotencyKey?: string | null;
}
export interface TransferLinesInput {
  id: string;
  lines?: { lineId?: string | null; variantId?: string | null; sku?: string | null; quantity?: number | null }[] | null;
  note?: string | null;
  idempotencyKey?: string | null;
  allowUncoveredPreorders?: boolean | null;
}
export type LossReason = 'LOST' | 'DAMAGED' | 'STOLEN' | 'OTHER';
export interface TransferResult extends OpResult {
  transferId: string | null;
}

const BLANK = { transferId: null };
const no = (...e: UserErrorShape[]) => refuse<TransferResult>(BLANK, ...e);
const byLevel = <T extends { levelId: string }>(a: T, b: T) => (a.levelId < b.levelId ? -1 : 1);

/** The error of a line's outcome; `uncoveredPath` is the field named by PREORDERS_UNCOVERED. */
function outcomeError(r: InboundOutcome, path: Path, delta: number, uncoveredPath = path): UserErrorShape | null {
  if ('refused' in r) return refusalError(r, path);
  return changeError(r.change, { mode: 'delta', onHandDelta: delta }, r.change?.failure === 'PREORDERS_UNCOVERED' ? uncoveredPath : path);
}

interface Line {
  id: string;
  variant_id: string;
  sku: string;
  destination_level_id: string;
  open: number;
}

export class TransferService {
  constructor(private readonly app: App) {}

  ship(auth: AuthInfo, input: TransferShipInput): Promise<TransferResult> {
    return stockOperation<TransferResult>(this.app, auth, 'inventoryTransferShip', input, BLANK, async (tx) => {
      const errors = [
        ...textErrors(input.reference, ['input', 'reference']),
        ...noteErrors(input.note, ['input', 'note']),
        ...lineCountErrors(input.lines.length, ['input', 'lines']),
      ];
      input.lines.forEach((l, i) => errors.push(...quantityErrors(l.quantity, ['input', 'lines', i, 'quantity'], { allowZero: false })));
      if (errors.length) return no(...errors);
      const from = { warehouseId: input.fromWarehouseId, warehouseCode: input.fromWarehouseCode };
      const to = { warehouseId: input.toWarehouseId, warehouseCode: input.toWarehouseCode };
      const lines: { variantId: string; src: string; dst: string; quantity: number; index: number }[] = [];
      for (const [i, l] of input.lines.entries()) {
        const v = { variantId: l.variantId, sku: l.sku };
        const s = await writableLevel(tx, auth.storeId, { ...v, ...from }, false, ['input', 'lines', i]);
        const d = await writableLevel(tx, auth.storeId, { ...v, ...to }, true, ['input', 'lines', i]);
        if ('errors' in s || 'errors' in d) errors.push(...('errors' in s ? s.errors : []), ...('errors' in d ? d.errors : []));
        else if (s.warehouseId === d.warehouseId)
          errors.push(userError(ErrorCode.SAME_WAREHOUSE, 'Source and destination warehouses must differ', ['input', 'toWarehouseCode']));
        else lines.push({ variantId: s.variantId, src: s.levelId, dst: d.levelId, quantity: l.quantity, index: i });
      }
      errors.push(
        ...duplicateErrors(
          lines.map((l) => l.variantId),
          ['input', 'lines'],
          'variant',
        ),
      );
      if (errors.length) return no(...errors.slice(0, 20));
      const [t] = await tx.query<{ id: string; from_w: string; to_w: string }>(
        `INSERT INTO inventory_transfers (store_id, reference, from_warehouse_id, to_warehouse_id, expected_at, note, actor)
         SELECT $1, $2, s.warehouse_id, d.warehouse_id, $5, $6, $7 FROM inventory_levels s, inventory_levels d WHERE s.store_id = $1 AND s.id = $3 AND d.store_id = $1 AND d.id = $4
         RETURNING id, from_warehouse_id AS from_w, to_warehouse_id AS to_w`,
        [auth.storeId, input.reference ?? null, lines[0].src, lines[0].dst, input.expectedAt ?? null, input.note ?? null, auth.actor],
      );
      // Levels first (FOR UPDATE, id order), then the lines: a line's foreign keys would otherwise
      // take KEY SHARE locks on the levels that two concurrent ships then both wait to upgrade.
      await lockLevels(tx, auth.storeId, [...lines.map((l) => l.src), ...lines.map((l) => l.dst)]);
      const ids = await insertTransferLines(
        tx,
        lines.map((l) => ({
          transferId: t.id,
          storeId: auth.storeId,
          variantId: l.variantId,
          sourceLevelId: l.src,
          destinationLevelId: l.dst,
          quantity: l.quantity,
          position: l.index,
        })),
      );
      const note = input.note ?? `transfer ${input.reference ?? t.id}`;
      const base = { storeId: auth.storeId, actor: auth.actor, note, transferId: t.id, idempotencyKey: input.idempotencyKey };
      const payload = { transferId: t.id, reference: input.reference ?? null, fromWarehouseId: t.from_w, toWarehouseId: t.to_w };
      const changes = [
        ...lines.map((l, k) => ({ levelId: l.src, l, out: true, lineId: ids[k] })),
        ...lines.map((l, k) => ({ levelId: l.dst, l, out: false, lineId: ids[k] })),
      ].sort(byLevel);
      for (const c of changes) {
        const r = c.out
          ? await shipFromSource(tx, { ...base, levelId: c.levelId, quantity: c.l.quantity, payload: { ...payload, lineId: c.lineId } })
          : await shipToDestination(tx, { ...base, levelId: c.levelId });
        const e = changeError(r, { mode: 'delta', onHandDelta: c.out ? -c.l.quantity : 0 }, ['input', 'lines', c.l.index]);
        if (e) return no(e);
      }
      return { transferId: t.id, userErrors: [] };
    });
  }

  receive(auth: AuthInfo, input: TransferLinesInput): Promise<TransferResult> {
    return this.onLines(auth, 'inventoryTransferReceive', input, null);
  }

  writeOff(auth: AuthInfo, input: TransferLinesInput & { reason: LossReason }): Promise<TransferResult> {
    return this.onLines(auth, 'inventoryTransferWriteOff', input, input.reason);
  }

  /** Receives (lossReason null) or writes off the named lines (all in transit when none are named). */
  private onLines(auth: AuthInfo, op: string, input: TransferLinesInput, lossReason: LossReason | null): Promise<TransferResult> {
    return stockOperation<TransferResult>(this.app, auth, op, input, BLANK, async (tx) => {
      const errors = [...noteErrors(input.note, ['input', 'note'])];
      if (lossReason == null || input.lines) errors.push(...lineCountErrors(input.lines?.length ?? 0, ['input', 'lines']));
      (input.lines ?? []).forEach((l, i) => {
        if (l.quantity != null) errors.push(...quantityErrors(l.quantity, ['input', 'lines', i, 'quantity'], { allowZero: false }));
        else if (lossReason == null)
          errors.push(userError(ErrorCode.INVALID_INPUT, 'quantity is required', ['input', 'lines', i, 'quantity']));
      });
      if (errors.length) return no(...errors);
      const t = await this.lockTransfer(tx, auth.storeId, input.id);
      if ('code' in t) return no(t);
      const picked = this.pick(t.lines, input.lines ?? null);
      if (!picked.lines) return no(...picked.errors);
      await lockLevels(
        tx,
        auth.storeId,
        picked.lines.map((l) => l.levelId),
      );
      const base = {
        storeId: auth.storeId,
        actor: auth.actor,
        transferId: t.id,
        idempotencyKey: input.idempotencyKey,
        allowUncoveredPreorders: input.allowUncoveredPreorders ?? false,
      };
      for (const p of [...picked.lines].sort(byLevel)) {
        const b = { ...base, levelId: p.levelId, lineId: p.lineId, quantity: p.quantity };
        const r =
          lossReason == null
            ? await receiveTransferLine(tx, {
                ...b,
                note: input.note ?? `transfer ${t.reference ?? t.id}`,
                payload: { transferId: t.id, reference: t.reference, fromWarehouseId: t.from_w, toWarehouseId: t.to_w },
              })
            : await writeOffTransferLine(tx, { ...b, note: `${lossReason}${input.note ? `: ${input.note}` : ''}`, lossReason });
        // A write-off without lines names the transfer; with lines, the line's quantity.
        const uncoveredAt = input.lines ? ['input', 'lines', p.index, 'quantity'] : ['input', 'id'];
        const e = outcomeError(r, ['input', 'lines', p.index], lossReason == null ? p.quantity : 0, uncoveredAt);
        if (e) return no(e);
      }
      await tx.query(
        `UPDATE inventory_transfers t SET updated_at = now(), status = CASE
            WHEN EXISTS (SELECT 1 FROM transfer_lines l WHERE l.store_id = t.store_id AND l.transfer_id = t.id AND l.quantity > l.received_quantity + l.lost_quantity)
              THEN 'PARTIALLY_RECEIVED'
            WHEN EXISTS (SELECT 1 FROM transfer_lines l WHERE l.store_id = t.store_id AND l.transfer_id = t.id AND l.lost_quantity > 0) THEN 'CLOSED'
            ELSE 'RECEIVED' END::"TransferStatus"
          WHERE t.store_id = $1 AND t.id = $2`,
        [auth.storeId, t.id],
      );
      return { transferId: t.id, userErrors: [] };
    });
  }

  private async lockTransfer(tx: Tx, storeId: string, gid: string) {
    const id = decodeId(gid, 'InventoryTransfer');
    const [t] = !id
      ? []
      : await tx.query<{ id: string; reference: string | null; status: string; from_w: string; to_w: string }>(
          `SELECT id, reference, status::text, from_warehouse_id AS from_w, to_warehouse_id AS to_w
             FROM inventory_transfers WHERE id = $1 AND store_id = $2 FOR UPDATE`,
          [id, storeId],
        );
    if (!t) return userError(ErrorCode.TRANSFER_NOT_FOUND, 'Transfer not found', ['input', 'id']);
    if (t.status === 'RECEIVED' || t.status === 'CLOSED')
      return userError(ErrorCode.TRANSFER_CLOSED, `Nothing of this transfer is in transit (${t.status})`, ['input', 'id']);
    const lines = await tx.query<Line>(
      `SELECT l.id, l.variant_id, v.sku, l.destination_level_id, l.quantity - l.received_quantity - l.lost_quantity AS open
         FROM transfer_lines l JOIN variants v ON v.id = l.variant_id AND v.store_id = l.store_id
        WHERE l.store_id = $2 AND l.transfer_id = $1 ORDER BY l.position`,
      [t.id, storeId],
    );
    return { ...t, lines };
  }

  /** The lines named (by lineId, variantId or sku), or every line with units in transit (write-off without lines). */
  private pick(all: Line[], named: TransferLinesInput['lines'] | null) {
    if (!named) {
      const lines = all
        .filter((l) => l.open > 0)
        .map((l, index) => ({ lineId: l.id, levelId: l.destination_level_id, quantity: l.open, index }));
      return { errors: [], lines };
    }
    const errors: UserErrorShape[] = [];
    const lines: { lineId: string; levelId: string; quantity: number; index: number }[] = [];
    for (const [i, n] of named.entries()) {
      const lineId = n.lineId != null ? decodeId(n.lineId, 'InventoryTransferLine') : null;
      const variantId = n.variantId != null ? decodeId(n.variantId, 'Variant') : null;
      const hit = all.find((l) =>
        n.lineId != null ? l.id === lineId : n.variantId != null ? l.variant_id === variantId : l.sku === n.sku,
      );
      if (!hit) errors.push(userError(ErrorCode.TRANSFER_LINE_NOT_FOUND, 'The transfer has no such line', ['input', 'lines', i]));
      else lines.push({ lineId: hit.id, levelId: hit.destination_level_id, quantity: n.quantity ?? hit.open, index: i });
    }
    errors.push(
      ...duplicateErrors(
        lines.map((l) => l.lineId),
        ['input', 'lines'],
        'line',
      ),
    );
    return errors.length ? { errors, lines: null } : { errors, lines };
  }
}
