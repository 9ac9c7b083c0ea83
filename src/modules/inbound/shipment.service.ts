/**
 * Inbound shipments: announced deliveries whose open lines make the levels' `incoming`. Create,
 * update, cancel and receive (partial, repeated), each in one transaction, optionally keyed.
 * Stock changes only through the stock core (setInboundLine, cancelInboundLine, receiveInboundLine);
 * locks: the shipment row, then its levels in ascending id order.
 */
import type { App } from '../../app';
import type { Tx } from '../../db/tx';
import { ErrorCode, userError, type UserErrorShape } from '../../graphql/errors';
import { decodeId } from '../../graphql/ids';
import type { AuthInfo } from '../../graphql/scopes';
import { noteErrors, quantityErrors } from '../inventory';
import {
  cancelInboundLine,
  lockLevels,
  receiveInboundLine,
  setInboundLine,
  stockOperation,
  type InboundOutcome,
  type LevelAddress,
  type OpResult,
} from '../stock';
import { changeError, duplicateErrors, lineCountErrors, refuse, refusalError, textErrors, writableLevel, type Path } from './inbound.rules';

export interface ShipmentLineInput extends LevelAddress {
  quantity: number;
}
export interface ShipmentCreateInput {
  reference: string;
  source?: string | null;
  expectedAt?: Date | null;
  note?: string | null;
  lines: ShipmentLineInput[];
  idempotencyKey?: string | null;
}
export interface ShipmentUpdateInput extends Omit<ShipmentCreateInput, 'reference' | 'lines'> {
  id: string;
  reference?: string | null;
  lines?: ShipmentLineInput[] | null;
  allowUncoveredPreorders?: boolean | null;
}
export interface ShipmentReceiveInput {
  id: string;
  lines: (LevelAddress & { lineId?: string | null; quantity: number })[];
  allowOverReceipt?: boolean | null;
  note?: string | null;
  idempotencyKey?: string | null;
}
export interface ShipmentResult extends OpResult {
  shipmentId: string | null;
}

const BLANK = { shipmentId: null };
const no = (...e: UserErrorShape[]) => refuse<ShipmentResult>(BLANK, ...e);

interface Locked {
  id: string;
  reference: string;
  status: string;
}

/** Locks an open (not manual) shipment of the store, or says why not. */
async function lockShipment(tx: Tx, storeId: string, gid: string, path: Path): Promise<Locked | UserErrorShape> {
  const id = decodeId(gid, 'InboundShipment');
  const [s] = !id
    ? []
    : await tx.query<Locked>(
        `SELECT id, reference, status::text FROM inbound_shipments WHERE id = $1::uuid AND store_id = $2 AND NOT manual FOR UPDATE`,
        [id, storeId],
      );
  if (!s) return userError(ErrorCode.INBOUND_SHIPMENT_NOT_FOUND, 'Inbound shipment not found', path);
  if (s.status === 'RECEIVED' || s.status === 'CANCELLED')
    return userError(ErrorCode.INBOUND_SHIPMENT_CLOSED, `The shipment is ${s.status}`, path);
  return s;
}

/** Resolves lines to writable levels (created when missing). */
async function resolveLines(tx: Tx, storeId: string, lines: ShipmentLineInput[], path: Path) {
  const errors: UserErrorShape[] = [];
  const out: { levelId: string; quantity: number; index: number }[] = [];
  for (const [i, l] of lines.entries()) {
    errors.push(...quantityErrors(l.quantity, [...path, i, 'quantity'], { allowZero: false }));
    const lv = await writableLevel(tx, storeId, l, true, [...path, i]);
    if ('errors' in lv) errors.push(...lv.errors);
    else out.push({ levelId: lv.levelId, quantity: l.quantity, index: i });
  }
  errors.push(
    ...duplicateErrors(
      out.map((o) => o.levelId),
      path,
      'variant and warehouse',
    ),
  );
  return { errors, lines: out };
}

/** Applies lines' quantities through the stock core, levels locked and changed in id order. */
async function applyLines(
  tx: Tx,
  auth: AuthInfo,
  shipmentId: string,
  note: string,
  lines: { levelId: string; quantity: number; index: number }[],
  idempotencyKey: string | null | undefined,
  allowUncoveredPreorders = false,
) {
  await lockLevels(
    tx,
    auth.storeId,
    lines.map((l) => l.levelId),
  );
  for (const l of [...lines].sort((a, b) => (a.levelId < b.levelId ? -1 : 1))) {
    const b = {
      storeId: auth.storeId,
      levelId: l.levelId,
      actor: auth.actor,
      note,
      shipmentId,
      quantity: l.quantity,
      position: l.index,
      idempotencyKey,
      allowUncoveredPreorders,
    };
    const r = await setInboundLine(tx, b);
    const e = outcomeError(r, ['input', 'lines', l.index], 0, ['input', 'lines', l.index, 'quantity']);
    if (e) return e;
  }
  return null;
}

/** The error of a line's outcome; `uncoveredPath` is the field named by PREORDERS_UNCOVERED. */
function outcomeError(r: InboundOutcome, path: Path, delta = 0, uncoveredPath = path): UserErrorShape | null {
  if ('refused' in r) return refusalError(r, path);
  return changeError(r.change, { mode: 'delta', onHandDelta: delta }, r.change?.failure === 'PREORDERS_UNCOVERED' ? uncoveredPath : path);
}

const setStatus = (tx: Tx, storeId: string, id: string) =>
  tx.query(
    `UPDATE inbound_shipments s SET updated_at = now(), status = CASE
        WHEN EXISTS (SELECT 1 FROM inbound_lines l WHERE l.store_id = s.store_id AND l.shipment_id = s.id AND l.quantity > l.received_quantity + l.cancelled_quantity)
          THEN CASE WHEN EXISTS (SELECT 1 FROM inbound_lines l WHERE l.store_id = s.store_id AND l.shipment_id = s.id AND l.received_quantity > 0)
                    THEN 'PARTIALLY_RECEIVED' ELSE 'OPEN' END::"InboundStatus"
        ELSE 'RECEIVED' END
      WHERE s.store_id = $1 AND s.id = $2`,
    [storeId, id],
  );

export class ShipmentService {
  constructor(private readonly app: App) {}

  create(auth: AuthInfo, input: ShipmentCreateInput): Promise<ShipmentResult> {
    return stockOperation<ShipmentResult>(this.app, auth, 'inboundShipmentCreate', input, BLANK, async (tx) => {
      const errors = [
        ...textErrors(input.reference, ['input', 'reference'], { required: true }),
        ...textErrors(input.source, ['input', 'source']),
        ...noteErrors(input.note, ['input', 'note']),
        ...lineCountErrors(input.lines.length, ['input', 'lines']),
      ];
      if (errors.length) return no(...errors);
      const r = await resolveLines(tx, auth.storeId, input.lines, ['input', 'lines']);
      if (r.errors.length) return no(...r.errors);
      const [s] = await tx.query<{ id: string }>(
        `INSERT INTO inbound_shipments (store_id, reference, source, expected_at, note, actor) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (store_id, reference) WHERE NOT manual DO NOTHING RETURNING id`,
        [auth.storeId, input.reference, input.source ?? null, input.expectedAt ?? null, input.note ?? null, auth.actor],
      );
      if (!s) return no(userError(ErrorCode.TAKEN, 'An inbound shipment with this reference exists', ['input', 'reference']));
      const e = await applyLines(tx, auth, s.id, `inbound ${input.reference}`, r.lines, input.idempotencyKey);
      return e ? no(e) : { shipmentId: s.id, userErrors: [] };
    });
  }

  update(auth: AuthInfo, input: ShipmentUpdateInput): Promise<ShipmentResult> {
    return stockOperation<ShipmentResult>(this.app, auth, 'inboundShipmentUpdate', input, BLANK, async (tx) => {
      const errors = [
        ...(input.reference != null ? textErrors(input.reference, ['input', 'reference'], { required: true }) : []),
        ...textErrors(input.source, ['input', 'source']),
        ...noteErrors(input.note, ['input', 'note']),
        ...(input.lines ? lineCountErrors(input.lines.length, ['input', 'lines']) : []),
      ];
      if (errors.length) return no(...errors);
      const s = await lockShipment(tx, auth.storeId, input.id, ['input', 'id']);
      if (!('id' in s)) return no(s);
      const r = input.lines ? await resolveLines(tx, auth.storeId, input.lines, ['input', 'lines']) : { errors: [], lines: [] };
      if (r.errors.length) return no(...r.errors);
      const renamed = await tx.query<{ reference: string }>(
        `UPDATE inbound_shipments SET reference = coalesce($2, reference), source = coalesce($3, source),
                expected_at = coalesce($4, expected_at), note = coalesce($5, note), updated_at = now()
          WHERE id = $1 AND store_id = $6 AND NOT EXISTS (SELECT 1 FROM inbound_shipments o WHERE o.store_id = $6 AND o.reference = $2 AND o.id <> $1 AND NOT o.manual)
         RETURNING reference`,
        [s.id, input.reference ?? null, input.source ?? null, input.expectedAt ?? null, input.note ?? null, auth.storeId],
      );
      if (!renamed[0]) return no(userError(ErrorCode.TAKEN, 'An inbound shipment with this reference exists', ['input', 'reference']));
      const note = `inbound ${renamed[0].reference}`;
      const e = await applyLines(tx, auth, s.id, note, r.lines, input.idempotencyKey, input.allowUncoveredPreorders ?? false);
      if (e) return no(e);
      await setStatus(tx, auth.storeId, s.id);
      return { shipmentId: s.id, userErrors: [] };
    });
  }

  cancel(
    auth: AuthInfo,
    input: { id: string; note?: string | null; idempotencyKey?: string | null; allowUncoveredPreorders?: boolean | null },
  ): Promise<ShipmentResult> {
    return stockOperation<ShipmentResult>(this.app, auth, 'inboundShipmentCancel', input, BLANK, async (tx) => {
      const errors = noteErrors(input.note, ['input', 'note']);
      if (errors.length) return no(...errors);
      const s = await lockShipment(tx, auth.storeId, input.id, ['input', 'id']);
      if (!('id' in s)) return no(s);
      const levels = await tx.query<{ level: string }>(
        `SELECT inventory_level_id AS level FROM inbound_lines WHERE store_id = $1 AND shipment_id = $2 ORDER BY inventory_level_id`,
        [auth.storeId, s.id],
      );
      const ids = levels.map((l) => l.level);
      await lockLevels(tx, auth.storeId, ids);
      for (const levelId of ids) {
        const note = input.note ?? `inbound ${s.reference} cancelled`;
        const b = {
          storeId: auth.storeId,
          levelId,
          actor: auth.actor,
          note,
          shipmentId: s.id,
          idempotencyKey: input.idempotencyKey,
          allowUncoveredPreorders: input.allowUncoveredPreorders ?? false,
        };
        const r = await cancelInboundLine(tx, b);
        const e = outcomeError(r, ['input', 'id']);
        if (e) return no(e);
      }
      await tx.query(`UPDATE inbound_shipments SET status = 'CANCELLED', updated_at = now() WHERE store_id = $1 AND id = $2`, [
        auth.storeId,
        s.id,
      ]);
      return { shipmentId: s.id, userErrors: [] };
    });
  }

  receive(auth: AuthInfo, input: ShipmentReceiveInput): Promise<ShipmentResult> {
    return stockOperation<ShipmentResult>(this.app, auth, 'inboundShipmentReceive', input, BLANK, async (tx) => {
      const errors = [...noteErrors(input.note, ['input', 'note']), ...lineCountErrors(input.lines.length, ['input', 'lines'])];
      input.lines.forEach((l, i) => errors.push(...quantityErrors(l.quantity, ['input', 'lines', i, 'quantity'], { allowZero: false })));
      if (errors.length) return no(...errors);
      const s = await lockShipment(tx, auth.storeId, input.id, ['input', 'id']);
      if (!('id' in s)) return no(s);
      const found = await this.receiptLines(tx, auth.storeId, s.id, input.lines);
      if (!found.lines) return no(...found.errors);
      await lockLevels(
        tx,
        auth.storeId,
        found.lines.map((l) => l.levelId),
      );
      const payload = { shipmentId: s.id, reference: s.reference };
      for (const l of [...found.lines].sort((a, b) => (a.levelId < b.levelId ? -1 : 1))) {
        const r = await receiveInboundLine(tx, {
          storeId: auth.storeId,
          levelId: l.levelId,
          actor: auth.actor,
          note: input.note ?? `inbound ${s.reference}`,
          shipmentId: s.id,
          lineId: l.lineId,
          quantity: l.quantity,
          allowOver: input.allowOverReceipt ?? false,
          idempotencyKey: input.idempotencyKey,
          payload,
        });
        const e = outcomeError(r, ['input', 'lines', l.index], l.quantity);
        if (e) return no(e);
      }
      await setStatus(tx, auth.storeId, s.id);
      return { shipmentId: s.id, userErrors: [] };
    });
  }

  /** The shipment's lines a receipt names: by lineId, or by variant and warehouse. */
  private async receiptLines(tx: Tx, storeId: string, shipmentId: string, lines: ShipmentReceiveInput['lines']) {
    const all = await tx.query<{ id: string; level: string }>(
      `SELECT id, inventory_level_id AS level FROM inbound_lines WHERE store_id = $1 AND shipment_id = $2`,
      [storeId, shipmentId],
    );
    const errors: UserErrorShape[] = [];
    const out: { lineId: string; levelId: string; quantity: number; index: number }[] = [];
    for (const [i, l] of lines.entries()) {
      const path = ['input', 'lines', i];
      let hit: { id: string; level: string } | undefined;
      if (l.lineId != null) hit = all.find((x) => x.id === decodeLine(l.lineId!));
      else {
        const lv = await writableLevel(tx, storeId, l, false, path);
        if ('errors' in lv) {
          errors.push(...lv.errors);
          continue;
        }
        hit = all.find((x) => x.level === lv.levelId);
      }
      if (!hit) errors.push(userError(ErrorCode.INBOUND_LINE_NOT_FOUND, 'The shipment has no such line', path));
      else out.push({ lineId: hit.id, levelId: hit.level, quantity: l.quantity, index: i });
    }
    errors.push(
      ...duplicateErrors(
        out.map((o) => o.lineId),
        ['input', 'lines'],
        'line',
      ),
    );
    return errors.length ? { errors, lines: null } : { errors, lines: out };
  }
}

const decodeLine = (gid: string) => decodeId(gid, 'InboundShipmentLine') ?? '';
