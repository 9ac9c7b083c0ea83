/**
 * Cart-level holds. A reservation has lines, each holding a quantity on one level until it is
 * released, committed (sold) or expires. All lines of a request succeed or none do.
 *
 * Lock order everywhere: levels in ascending id (SELECT … FOR UPDATE), then reservation lines.
 * Counters change only through the stock writer, which also expires due lines lazily.
 */
import crypto from 'node:crypto';
import type { App } from '../../app';
import type { Tx } from '../../db/tx';
import { ErrorCode, userError, type UserErrorShape } from '../../graphql/errors';
import { decodeId } from '../../graphql/ids';
import { LIMITS, validateText } from '../../validation';
import type { AuthInfo } from '../auth/scopes';
import { INT32_MAX } from '../inventory/availability';
import { stockOperation, type OpResult } from '../inventory/idempotency';
import { applyLevelChange, type LevelChange } from '../inventory/stock-writer';

export type ReservationStatus = 'ACTIVE' | 'RELEASED' | 'COMMITTED' | 'EXPIRED';

export interface ReservationRow {
  id: string;
  storeId: string;
  status: ReservationStatus;
  reference: string | null;
  expiresAt: string;
  createdAt: string;
  updatedAt: string;
}

export interface ReservationLineRow {
  id: string;
  reservationId: string;
  inventoryLevelId: string;
  status: ReservationStatus;
  quantity: number;
  originalQuantity: number;
  committedQuantity: number;
  releasedQuantity: number;
  expiredQuantity: number;
  expiresAt: string;
  position: number;
}

export interface ReserveLineInput {
  variantId?: string | null;
  sku?: string | null;
  warehouseId?: string | null;
  warehouseCode?: string | null;
  quantity: number;
}

export interface ReserveInput {
  lines: ReserveLineInput[];
  ttlSeconds?: number | null;
  reference?: string | null;
  idempotencyKey?: string | null;
}

export interface LineQuantityInput {
  lineId: string;
  quantity: number;
}

export interface SettleInput {
  reservationId: string;
  /** Omitted: the whole reservation. */
  lines?: LineQuantityInput[] | null;
  idempotencyKey?: string | null;
}

export interface ReservationResult extends OpResult {
  reservation: ReservationRow | null;
  lines: ReservationLineRow[];
}

const fail = (...userErrors: UserErrorShape[]): ReservationResult => ({ reservation: null, lines: [], userErrors, rollback: true });

/** Thrown when a conditional write fails after the rows were locked and checked: retry the transaction. */
class RaceError extends Error {
  code = '40001';
}

const RES_COLUMNS = `r.id, r.store_id AS "storeId",
  CASE WHEN r.status = 'ACTIVE' AND r.expires_at <= now() THEN 'EXPIRED' ELSE r.status::text END AS status,
  r.reference, r.expires_at AS "expiresAt", r.created_at AS "createdAt", r.updated_at AS "updatedAt"`;
const LINE_COLUMNS = `rl.id, rl.reservation_id AS "reservationId", rl.inventory_level_id AS "inventoryLevelId",
  CASE WHEN rl.status = 'ACTIVE' AND rl.expires_at <= now() THEN 'EXPIRED' ELSE rl.status::text END AS status,
  rl.quantity, rl.original_quantity AS "originalQuantity", rl.committed_quantity AS "committedQuantity",
  rl.released_quantity AS "releasedQuantity",
  CASE WHEN rl.status = 'ACTIVE' AND rl.expires_at <= now() THEN rl.quantity ELSE rl.expired_quantity END AS "expiredQuantity",
  rl.expires_at AS "expiresAt", rl.position`;

export async function reservationsByIds(tx: Tx, storeId: string, ids: readonly string[]): Promise<ReservationRow[]> {
  return tx.query<ReservationRow>(`SELECT ${RES_COLUMNS} FROM reservations r WHERE r.store_id = $1 AND r.id = ANY($2::uuid[])`, [storeId, ids]);
}

export async function linesByReservationIds(tx: Tx, ids: readonly string[]): Promise<ReservationLineRow[]> {
  return tx.query<ReservationLineRow>(`SELECT ${LINE_COLUMNS} FROM reservation_lines rl WHERE rl.reservation_id = ANY($1::uuid[]) ORDER BY rl.position`, [ids]);
}

export async function linesByIds(tx: Tx, storeId: string, ids: readonly string[]): Promise<ReservationLineRow[]> {
  return tx.query<ReservationLineRow>(
    `SELECT ${LINE_COLUMNS} FROM reservation_lines rl JOIN reservations r ON r.id = rl.reservation_id WHERE r.store_id = $1 AND rl.id = ANY($2::uuid[])`,
    [storeId, ids],
  );
}

async function loadResult(tx: Tx, storeId: string, id: string): Promise<ReservationResult> {
  const [reservation] = await reservationsByIds(tx, storeId, [id]);
  return { reservation: reservation ?? null, lines: reservation ? await linesByReservationIds(tx, [id]) : [], userErrors: [] };
}

interface Candidate {
  id: string;
  variant_id: string;
  warehouse_id: string;
  code: string;
  priority: number;
  read_only: boolean;
  active: boolean;
  available: number;
}

export class ReservationService {
  constructor(private readonly app: App) {}


  reserve(auth: AuthInfo, input: ReserveInput): Promise<ReservationResult> {
    return stockOperation<ReservationResult>(this.app, auth, 'inventoryReserve', input, { reservation: null, lines: [] }, (tx) => this.reserveIn(tx, auth, input));
  }

  private async reserveIn(tx: Tx, auth: AuthInfo, input: ReserveInput): Promise<ReservationResult> {
    const { config } = this.app;
    const ttl = input.ttlSeconds ?? config.reservationTtlDefaultSeconds;
    const errors: UserErrorShape[] = [];
    if (!Number.isInteger(ttl) || ttl < 1 || ttl > config.reservationTtlMaxSeconds) {
      errors.push(userError(ErrorCode.INVALID_TTL, `ttlSeconds must be between 1 and ${config.reservationTtlMaxSeconds}`, ['input', 'ttlSeconds']));
    }
    if (input.reference != null) errors.push(...validateText(input.reference, ['input', 'reference'], { max: LIMITS.reference }));
    if (input.lines.length === 0) errors.push(userError(ErrorCode.INVALID_INPUT, 'lines must not be empty', ['input', 'lines']));
    if (input.lines.length > LIMITS.reserveLines) errors.push(userError(ErrorCode.TOO_MANY_ITEMS, `At most ${LIMITS.reserveLines} lines`, ['input', 'lines']));
    input.lines.forEach((l, i) => {
      const f = ['input', 'lines', i];
      if ((l.variantId == null) === (l.sku == null)) errors.push(userError(ErrorCode.INVALID_INPUT, 'Give exactly one of variantId or sku', [...f, 'sku']));
      if (l.warehouseId != null && l.warehouseCode != null) errors.push(userError(ErrorCode.INVALID_INPUT, 'Give at most one of warehouseId or warehouseCode', [...f, 'warehouseCode']));
      if (!Number.isInteger(l.quantity) || l.quantity <= 0) errors.push(userError(ErrorCode.NEGATIVE_QUANTITY, 'quantity must be greater than 0', [...f, 'quantity']));
      else if (l.quantity > INT32_MAX) errors.push(userError(ErrorCode.QUANTITY_OUT_OF_RANGE, `quantity must be at most ${INT32_MAX}`, [...f, 'quantity']));
    });
    if (errors.length) return fail(...errors);

    // Variants and warehouses named by the lines.
    const vIds = input.lines.map((l) => (l.variantId != null ? decodeId(l.variantId, 'Variant') : null)).filter((x): x is string => !!x);
    const skus = input.lines.map((l) => l.sku).filter((x): x is string => x != null);
    const variants = await tx.query<{ id: string; sku: string }>(`SELECT id, sku FROM variants WHERE store_id = $1 AND (id = ANY($2::uuid[]) OR sku = ANY($3::text[]))`, [
      auth.storeId,
      vIds,
      skus,
    ]);
    const lineVariant = input.lines.map((l) =>
      l.variantId != null ? variants.find((v) => v.id === decodeId(l.variantId, 'Variant'))?.id : variants.find((v) => v.sku === l.sku)?.id,
    );
    lineVariant.forEach((v, i) => {
      if (!v) errors.push(userError(ErrorCode.VARIANT_NOT_FOUND, `Line ${i}: variant not found`, ['input', 'lines', i, input.lines[i].variantId != null ? 'variantId' : 'sku']));
    });
    if (errors.length) return fail(...errors);

    // Lock every candidate level in ascending id order, then read their effective availability.
    const variantIds = [...new Set(lineVariant as string[])];
    await tx.query(`SELECT l.id FROM inventory_levels l WHERE l.store_id = $1 AND l.variant_id = ANY($2::uuid[]) ORDER BY l.id FOR UPDATE`, [auth.storeId, variantIds]);
    const candidates = await tx.query<Candidate>(
      `SELECT l.id, l.variant_id, l.warehouse_id, w.code, w.priority, w.read_only, w.active,
              (l.on_hand - l.reserved - l.safety_stock + coalesce((SELECT sum(rl.quantity) FROM reservation_lines rl
                 WHERE rl.inventory_level_id = l.id AND rl.status = 'ACTIVE' AND rl.expires_at <= now()), 0))::int AS available
         FROM inventory_levels l JOIN warehouses w ON w.id = l.warehouse_id
        WHERE l.store_id = $1 AND l.variant_id = ANY($2::uuid[])
        ORDER BY w.priority, w.code`,
      [auth.storeId, variantIds],
    );
    const remaining = new Map(candidates.map((c) => [c.id, Math.max(0, c.available)]));
    const allocations: { line: number; levelId: string; quantity: number }[] = [];
    input.lines.forEach((l, i) => {
      const f = ['input', 'lines', i];
      const variantId = lineVariant[i]!;
      let pool = candidates.filter((c) => c.variant_id === variantId);
      if (l.warehouseId != null || l.warehouseCode != null) {
        const wid = l.warehouseId != null ? decodeId(l.warehouseId, 'Warehouse') : null;
        const c = pool.find((x) => (wid ? x.warehouse_id === wid : x.code === l.warehouseCode));
        if (!c) {
          errors.push(userError(ErrorCode.INVENTORY_NOT_FOUND, `Line ${i}: no inventory for this variant in that warehouse`, [...f, l.warehouseId != null ? 'warehouseId' : 'warehouseCode']));
          return;
        }
        if (c.read_only) return void errors.push(userError(ErrorCode.READONLY_WAREHOUSE, `Line ${i}: warehouse ${c.code} is read-only`, [...f, 'warehouseCode']));
        if (!c.active) return void errors.push(userError(ErrorCode.INACTIVE_WAREHOUSE, `Line ${i}: warehouse ${c.code} is inactive`, [...f, 'warehouseCode']));
        pool = [c];
      } else {
        pool = pool.filter((c) => c.active && !c.read_only);
      }
      let need = l.quantity;
      const taken: typeof allocations = [];
      for (const c of pool) {
        if (need === 0) break;
        const q = Math.min(need, remaining.get(c.id)!);
        if (q > 0) taken.push({ line: i, levelId: c.id, quantity: q });
        need -= q;
      }
      if (need > 0) {
        const avail = pool.reduce((s, c) => s + remaining.get(c.id)!, 0);
        errors.push(userError(ErrorCode.INSUFFICIENT_STOCK, `Line ${i}: requested ${l.quantity}, only ${avail} available`, [...f, 'quantity']));
        return;
      }
      for (const t of taken) remaining.set(t.levelId, remaining.get(t.levelId)! - t.quantity);
      allocations.push(...taken);
    });
    if (errors.length) return fail(...errors);

    const reservationId = crypto.randomUUID();
    const perLevel = new Map<string, number>();
    for (const a of allocations) perLevel.set(a.levelId, (perLevel.get(a.levelId) ?? 0) + a.quantity);
    for (const levelId of [...perLevel.keys()].sort()) {
      const c: LevelChange = {
        storeId: auth.storeId,
        levelId,
        mode: 'delta',
        reservedDelta: perLevel.get(levelId)!,
        requireAvailable: true,
        reason: 'RESERVATION',
        actor: auth.actor,
        idempotencyKey: input.idempotencyKey,
        reservationId,
        note: input.reference,
      };
      const r = await applyLevelChange(tx, c);
      if (!r || r.failure) throw new RaceError(`level ${levelId} changed under lock`);
    }
    await tx.query(
      `INSERT INTO reservations (id, store_id, status, reference, expires_at, idempotency_key, actor)
       VALUES ($1, $2, 'ACTIVE', $3, now() + make_interval(secs => $4), $5, $6)`,
      [reservationId, auth.storeId, input.reference ?? null, ttl, input.idempotencyKey ?? null, auth.actor],
    );
    await tx.query(
      `INSERT INTO reservation_lines (reservation_id, inventory_level_id, quantity, original_quantity, expires_at, position)
       SELECT $1, a.level_id, a.q, a.q, r.expires_at, a.pos
         FROM unnest($2::uuid[], $3::int[], $4::int[]) AS a(level_id, q, pos), reservations r WHERE r.id = $1`,
      [reservationId, allocations.map((a) => a.levelId), allocations.map((a) => a.quantity), allocations.map((_, i) => i)],
    );
    return loadResult(tx, auth.storeId, reservationId);
  }

  release(auth: AuthInfo, input: SettleInput): Promise<ReservationResult> {
    return stockOperation<ReservationResult>(this.app, auth, 'reservationRelease', input, { reservation: null, lines: [] }, (tx) => this.settle(tx, auth, input, 'release'));
  }

  commit(auth: AuthInfo, input: SettleInput): Promise<ReservationResult> {
    return stockOperation<ReservationResult>(this.app, auth, 'reservationCommit', input, { reservation: null, lines: [] }, (tx) => this.settle(tx, auth, input, 'commit'));
  }

  private async settle(tx: Tx, auth: AuthInfo, input: SettleInput, action: 'release' | 'commit'): Promise<ReservationResult> {
    const id = decodeId(input.reservationId, 'Reservation');
    const notFound = () => fail(userError(ErrorCode.RESERVATION_NOT_FOUND, 'Reservation not found', ['input', 'reservationId']));
    if (!id) return notFound();
    const [head] = await tx.query<{ id: string }>(`SELECT id FROM reservations WHERE id = $1 AND store_id = $2`, [id, auth.storeId]);
    if (!head) return notFound();
    const partial = input.lines != null;
    if (partial && input.lines!.length === 0) return fail(userError(ErrorCode.INVALID_INPUT, 'lines must not be empty (omit it to settle the whole reservation)', ['input', 'lines']));

    // Lock order: levels (ascending id), then the reservation's lines and header.
    await tx.query(
      `SELECT l.id FROM inventory_levels l WHERE l.id IN (SELECT inventory_level_id FROM reservation_lines WHERE reservation_id = $1) ORDER BY l.id FOR UPDATE`,
      [id],
    );
    await tx.query(`SELECT id FROM reservations WHERE id = $1 FOR UPDATE`, [id]);
    const lines = await tx.query<{ id: string; level_id: string; status: ReservationStatus; due: boolean; quantity: number }>(
      `SELECT rl.id, rl.inventory_level_id AS level_id, rl.status::text AS status, (rl.expires_at <= now()) AS due, rl.quantity
         FROM reservation_lines rl WHERE rl.reservation_id = $1 ORDER BY rl.position FOR UPDATE`,
      [id],
    );
    const isExpired = (l: (typeof lines)[number]) => l.status === 'EXPIRED' || (l.status === 'ACTIVE' && l.due);

    // What to settle per line.
    const want = new Map<string, number>();
    const errors: UserErrorShape[] = [];
    if (partial) {
      input.lines!.forEach((q, i) => {
        const f = ['input', 'lines', i];
        const lineId = decodeId(q.lineId, 'ReservationLine');
        const line = lineId ? lines.find((l) => l.id === lineId) : undefined;
        if (!line) return void errors.push(userError(ErrorCode.RESERVATION_LINE_NOT_FOUND, 'This line does not belong to the reservation', [...f, 'lineId']));
        if (!Number.isInteger(q.quantity) || q.quantity <= 0) return void errors.push(userError(ErrorCode.NEGATIVE_QUANTITY, 'quantity must be greater than 0', [...f, 'quantity']));
        want.set(line.id, (want.get(line.id) ?? 0) + q.quantity);
      });
    } else {
      // Expired lines are included so that releasing an expired reservation says so (whether or
      // not the sweeper has marked it yet), and committing one sells from available stock.
      for (const l of lines) {
        if (l.status === 'ACTIVE' || l.status === 'EXPIRED') want.set(l.id, l.quantity);
      }
    }
    if (errors.length) return fail(...errors);
    const anyExpired = lines.some((l) => want.has(l.id) && isExpired(l));
    if (action === 'release' && anyExpired) {
      return fail(userError(ErrorCode.RESERVATION_EXPIRED, 'The reservation has expired; its units are already back in stock', ['input', 'reservationId']));
    }
    for (const [lineId, q] of want) {
      const l = lines.find((x) => x.id === lineId)!;
      const settleable = l.status === 'ACTIVE' || (action === 'commit' && l.status === 'EXPIRED');
      if (!settleable) {
        return fail(userError(ErrorCode.RESERVATION_NOT_ACTIVE, `The reservation line is already ${l.status.toLowerCase()}`, ['input', partial ? 'lines' : 'reservationId']));
      }
      if (q > l.quantity) {
        return fail(userError(ErrorCode.EXCEEDS_RESERVED, `Cannot ${action} ${q}: the line holds ${l.quantity}`, ['input', 'lines']));
      }
    }
    if (want.size === 0 || [...want.values()].every((q) => q === 0)) {
      return fail(userError(ErrorCode.RESERVATION_NOT_ACTIVE, 'Nothing is held by this reservation any more', ['input', 'reservationId']));
    }

    // Per level: onHand and reserved deltas. An expired line no longer holds stock: committing it
    // is a sale from what is available now.
    const perLevel = new Map<string, { dOn: number; dRes: number; fromAvailable: boolean }>();
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
        if (p.fromAvailable) return fail(userError(ErrorCode.RESERVATION_EXPIRED, 'The reservation expired and the stock is no longer available', ['input', 'reservationId']));
        throw new RaceError(`level ${levelId}: ${r.failure} under lock`);
      }
    }
    const ids = [...want.keys()];
    const qs = ids.map((k) => want.get(k)!);
    await tx.query(
      action === 'release'
        ? `UPDATE reservation_lines rl SET quantity = rl.quantity - a.q, released_quantity = rl.released_quantity + a.q,
                  status = CASE WHEN rl.quantity - a.q = 0 THEN 'RELEASED'::"ReservationStatus" ELSE rl.status END
             FROM unnest($1::uuid[], $2::int[]) AS a(id, q) WHERE rl.id = a.id`
        : `UPDATE reservation_lines rl SET quantity = rl.quantity - a.q, committed_quantity = rl.committed_quantity + a.q,
                  expired_quantity = CASE WHEN rl.status = 'EXPIRED' THEN rl.expired_quantity - a.q ELSE rl.expired_quantity END,
                  status = CASE WHEN rl.quantity - a.q = 0 THEN 'COMMITTED'::"ReservationStatus" ELSE rl.status END
             FROM unnest($1::uuid[], $2::int[]) AS a(id, q) WHERE rl.id = a.id`,
      [ids, qs],
    );
    await settleHeaders(tx, [id]);
    return loadResult(tx, auth.storeId, id);
  }
}

/**
 * Closes reservations that hold nothing any more: COMMITTED if anything was sold, else EXPIRED or
 * RELEASED. An EXPIRED one is re-evaluated too, so a late commit marks it COMMITTED.
 */
export async function settleHeaders(tx: Tx, ids: string[]): Promise<void> {
  await tx.query(
    `UPDATE reservations r SET updated_at = now(), status = CASE
         WHEN EXISTS (SELECT 1 FROM reservation_lines x WHERE x.reservation_id = r.id AND x.committed_quantity > 0) THEN 'COMMITTED'
         WHEN EXISTS (SELECT 1 FROM reservation_lines x WHERE x.reservation_id = r.id AND x.status = 'EXPIRED') THEN 'EXPIRED'
         ELSE 'RELEASED' END::"ReservationStatus"
      WHERE r.id = ANY($1::uuid[]) AND r.status IN ('ACTIVE', 'EXPIRED')
        AND NOT EXISTS (SELECT 1 FROM reservation_lines x WHERE x.reservation_id = r.id AND x.status = 'ACTIVE' AND x.quantity > 0)`,
    [ids],
  );
}
