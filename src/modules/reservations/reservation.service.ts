/**
 * Cart-level holds. A reservation has lines, each holding a quantity on one level until it is
 * released, committed (sold) or expires. All lines of a request succeed or none do.
 *
 * Lock order everywhere: levels in ascending id (SELECT … FOR UPDATE), then reservation lines.
 * Counters change only through the stock writer, which also expires due lines lazily.
 */
import crypto from 'node:crypto';
import type { App } from '../../app';
import { Batcher } from '../../db/batcher';
import { preparedStatement } from '../../db/client';
import { withConn, type Tx } from '../../db/tx';
import { ErrorCode, isTransientDbError, userError, type UserErrorShape } from '../../graphql/errors';
import { decodeId } from '../../graphql/ids';
import { LIMITS, validateText } from '../../validation';
import type { AuthInfo } from '../auth/scopes';
import { INT32_MAX } from '../inventory/availability';
import { effectiveReserved } from '../inventory/levels';
import { stockOperation, type OpResult } from '../inventory/idempotency';
import { applyLevelChange, reserveBatchStatement, type LevelChange } from '../inventory/stock-writer';

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

const RES_FIELDS: [string, keyof ReservationRow][] = [
  ['r.id', 'id'],
  ['r.store_id', 'storeId'],
  [`CASE WHEN r.status = 'ACTIVE' AND r.expires_at <= now() THEN 'EXPIRED' ELSE r.status::text END`, 'status'],
  ['r.reference', 'reference'],
  ['r.expires_at', 'expiresAt'],
  ['r.created_at', 'createdAt'],
  ['r.updated_at', 'updatedAt'],
];
const LINE_FIELDS: [string, keyof ReservationLineRow][] = [
  ['rl.id', 'id'],
  ['rl.reservation_id', 'reservationId'],
  ['rl.inventory_level_id', 'inventoryLevelId'],
  [`CASE WHEN rl.status = 'ACTIVE' AND rl.expires_at <= now() THEN 'EXPIRED' ELSE rl.status::text END`, 'status'],
  ['rl.quantity', 'quantity'],
  ['rl.original_quantity', 'originalQuantity'],
  ['rl.committed_quantity', 'committedQuantity'],
  ['rl.released_quantity', 'releasedQuantity'],
  [`CASE WHEN rl.status = 'ACTIVE' AND rl.expires_at <= now() THEN rl.quantity ELSE rl.expired_quantity END`, 'expiredQuantity'],
  ['rl.expires_at', 'expiresAt'],
  ['rl.position', 'position'],
];
/** Select list of the fields, named "<prefix><field>". */
const columns = (fields: [string, string][], prefix = '') => fields.map(([expr, name]) => `${expr} AS "${prefix}${name}"`).join(', ');
/** The fields of one row selected with columns(fields, prefix), without the prefix. */
function pick<T>(row: Record<string, unknown>, fields: [string, string][], prefix = ''): T {
  const o: Record<string, unknown> = {};
  for (const [, name] of fields) o[name] = row[prefix + name];
  return o as T;
}
const RES_COLUMNS = columns(RES_FIELDS);
const LINE_COLUMNS = columns(LINE_FIELDS);

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

interface Allocation {
  line: number;
  levelId: string;
  quantity: number;
}

interface LockedLevel {
  id: string;
  variant_id: string;
  sku: string;
  warehouse_id: string;
  code: string;
  priority: number;
  read_only: boolean;
  active: boolean;
}

/** The variants named by a reservation, and every level of them locked in ascending id order. */
const LOCK_LEVELS_SQL = preparedStatement('reserve_lock', `SELECT l.id, l.variant_id, v.sku, l.warehouse_id, w.code, w.priority, w.read_only, w.active
  FROM inventory_levels l
  JOIN variants v ON v.id = l.variant_id
  JOIN warehouses w ON w.id = l.warehouse_id
 WHERE l.store_id = $1 AND v.store_id = $1 AND (v.id = ANY($2::uuid[]) OR v.sku = ANY($3::text[]))
 ORDER BY l.id
   FOR UPDATE OF l`);

/** The reservation and its lines, inserted and returned (one row per line) as loadResult() reads them. */
const INSERT_RESERVATION_SQL = preparedStatement('reserve_insert', `WITH r AS (
  INSERT INTO reservations (id, store_id, status, reference, expires_at, idempotency_key, actor)
  VALUES ($1, $2, 'ACTIVE', $3, now() + make_interval(secs => $4), $5, $6)
  RETURNING *
), rl AS (
  INSERT INTO reservation_lines (reservation_id, inventory_level_id, quantity, original_quantity, expires_at, position)
  SELECT r.id, a.level_id, a.q, a.q, r.expires_at, a.pos
    FROM unnest($7::uuid[], $8::int[], $9::int[]) AS a(level_id, q, pos), r
  RETURNING *
)
SELECT ${columns(RES_FIELDS, 'r_')}, ${columns(LINE_FIELDS, 'l_')}
  FROM r, rl
 ORDER BY rl.position`);

/**
 * The batched common case (see reserveBatched()): one row per request, $1–$10 are arrays with one
 * element per request. A request targets the only active, writable level of its variant (id or
 * sku) in its warehouse (id or code, when given); the stock writer's batched statement grants it
 * or not, and a granted request's reservation and line are inserted in the same statement.
 */
const RESERVE_BATCH_SQL = preparedStatement(
  'reserve_batch',
  reserveBatchStatement({
    pre: `inp AS (
  SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::uuid[], $5::text[], $6::int[], $7::uuid[], $8::int[], $9::text[], $10::text[])
    WITH ORDINALITY AS a(store_id, variant_id, sku, warehouse_id, warehouse_code, qty, reservation_id, ttl, note, actor, idx)
),
req AS (
  SELECT inp.idx, inp.store_id, t.level_id, inp.qty, inp.reservation_id, inp.note, inp.actor, inp.ttl
    FROM inp LEFT JOIN LATERAL (
      SELECT (array_agg(l.id))[1] AS level_id
        FROM inventory_levels l
        JOIN variants v ON v.id = l.variant_id
        JOIN warehouses w ON w.id = l.warehouse_id
       WHERE l.store_id = inp.store_id AND v.store_id = inp.store_id
         AND (v.id = inp.variant_id OR v.sku = inp.sku)
         AND (inp.warehouse_id IS NULL OR w.id = inp.warehouse_id) AND (inp.warehouse_code IS NULL OR w.code = inp.warehouse_code)
         AND w.active AND NOT w.read_only
      HAVING count(*) = 1
    ) t ON true
)`,
    post: `,
r AS (
  INSERT INTO reservations (id, store_id, status, reference, expires_at, actor)
  SELECT won.reservation_id, won.store_id, 'ACTIVE', won.note, now() + make_interval(secs => won.ttl), won.actor FROM won
  RETURNING *
),
rl AS (
  INSERT INTO reservation_lines (reservation_id, inventory_level_id, quantity, original_quantity, expires_at, position)
  SELECT r.id, won.level_id, won.qty, won.qty, r.expires_at, 0 FROM r JOIN won ON won.reservation_id = r.id
  RETURNING *
)`,
    columns: `, ${columns(RES_FIELDS, 'r_')}, ${columns(LINE_FIELDS, 'l_')}`,
    from: ' LEFT JOIN r ON r.id = q.reservation_id LEFT JOIN rl ON rl.reservation_id = q.reservation_id',
  }),
);

/** One request of a batch (see RESERVE_BATCH_SQL). */
interface BatchItem {
  storeId: string;
  variantId: string | null;
  sku: string | null;
  warehouseId: string | null;
  warehouseCode: string | null;
  quantity: number;
  reservationId: string;
  ttl: number;
  note: string | null;
  actor: string;
}

/** A batch's outcome for one request: the inserted rows, or null (not granted: take the general path). */
type BatchOutcome = Record<string, unknown> | null;

const RETRY_CODES = new Set(['40001', '40P01']);

/** One batcher per connection pool (process), so concurrent requests share statements. */
const batchers = new WeakMap<object, Batcher<BatchItem, BatchOutcome>>();

function reserveBatcher(app: App): Batcher<BatchItem, BatchOutcome> {
  let b = batchers.get(app.tx);
  if (!b) {
    const tx = app.tx;
    const conn = { ...tx, pool: app.db.batchPool };
    b = new Batcher<BatchItem, BatchOutcome>(
      async (items) => {
        const col = <K extends keyof BatchItem>(k: K) => items.map((i) => i[k]);
        const rows = await withConn(conn, async (c) => {
          try {
            return await c.query<Record<string, unknown>>(RESERVE_BATCH_SQL, [
              col('storeId'), col('variantId'), col('sku'), col('warehouseId'), col('warehouseCode'),
              col('quantity'), col('reservationId'), col('ttl'), col('note'), col('actor'),
            ]);
          } catch (e) {
            // PostgreSQL refused the statement (deadlock, serialization failure, or one request's
            // bad data) and rolled it back: every request of the batch takes the general path on
            // its own. A lost connection (outcome unknown) is not retried: it surfaces as UNAVAILABLE.
            const code = (e as { code?: unknown }).code;
            if (typeof code === 'string' && (RETRY_CODES.has(code) || (/^[0-9A-Z]{5}$/.test(code) && !isTransientDbError(e)))) {
              if (!RETRY_CODES.has(code)) app.log.warn('reservation batch refused; its requests take the general path', { code, err: (e as Error).message });
              return [];
            }
            throw e;
          }
        });
        if (rows.length === 0) return items.map(() => null);
        if (rows.some((r) => r.granted)) tx.afterCommit?.();
        return rows.map((r) => (r.granted && r.r_id != null ? r : null));
      },
      { maxInFlight: app.config.reserveBatchInFlight, maxBatch: 500 },
    );
    batchers.set(app.tx, b);
  }
  return b;
}

type LevelInfo = Omit<Candidate, 'available'>;

/**
 * The levels that may serve a line: the one in the named warehouse (refused when missing,
 * read-only or inactive), or else every active, writable level of the variant in `levels` order.
 */
function linePool<T extends LevelInfo>(l: ReserveLineInput, i: number, levels: T[], variantId: string): { pool?: T[]; error?: UserErrorShape } {
  const f = ['input', 'lines', i];
  const pool = levels.filter((c) => c.variant_id === variantId);
  if (l.warehouseId != null || l.warehouseCode != null) {
    const wid = l.warehouseId != null ? decodeId(l.warehouseId, 'Warehouse') : null;
    const c = pool.find((x) => (wid ? x.warehouse_id === wid : x.code === l.warehouseCode));
    if (!c) return { error: userError(ErrorCode.INVENTORY_NOT_FOUND, `Line ${i}: no inventory for this variant in that warehouse`, [...f, l.warehouseId != null ? 'warehouseId' : 'warehouseCode']) };
    if (c.read_only) return { error: userError(ErrorCode.READONLY_WAREHOUSE, `Line ${i}: warehouse ${c.code} is read-only`, [...f, 'warehouseCode']) };
    if (!c.active) return { error: userError(ErrorCode.INACTIVE_WAREHOUSE, `Line ${i}: warehouse ${c.code} is inactive`, [...f, 'warehouseCode']) };
    return { pool: [c] };
  }
  return { pool: pool.filter((c) => c.active && !c.read_only) };
}

export class ReservationService {
  constructor(private readonly app: App) {}


  async reserve(auth: AuthInfo, input: ReserveInput): Promise<ReservationResult> {
    const fast = await this.reserveBatched(auth, input);
    if (fast) return fast;
    return stockOperation<ReservationResult>(this.app, auth, 'inventoryReserve', input, { reservation: null, lines: [] }, (tx) => this.reserveIn(tx, auth, input));
  }

  /** Checks of the input alone; returns the lifetime to use and the errors. */
  private check(input: ReserveInput): { ttl: number; errors: UserErrorShape[] } {
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
    return { ttl, errors };
  }

  /**
   * The common case, group-committed: one line, without idempotency key, that only one active,
   * writable level can serve, with no due reservation lines on it. Concurrent such requests share
   * ONE autocommit statement (src/db/batcher.ts): it locks their levels in id order, grants them
   * in arrival order while stock lasts, and writes each granted request's ledger row, events,
   * reservation and line. A request it does not grant wrote nothing (no due lines, so nothing to
   * expire): the general path then runs and answers exactly as it always has.
   */
  private async reserveBatched(auth: AuthInfo, input: ReserveInput): Promise<ReservationResult | null> {
    if (input.idempotencyKey != null || input.lines.length !== 1) return null;
    const { ttl, errors } = this.check(input);
    if (errors.length) return null;
    const l = input.lines[0];
    const variantId = l.variantId != null ? decodeId(l.variantId, 'Variant') : null;
    const warehouseId = l.warehouseId != null ? decodeId(l.warehouseId, 'Warehouse') : null;
    if ((l.variantId != null && !variantId) || (l.warehouseId != null && !warehouseId)) return null;
    const r = await reserveBatcher(this.app).add({
      storeId: auth.storeId,
      variantId,
      sku: l.sku ?? null,
      warehouseId,
      warehouseCode: l.warehouseCode ?? null,
      quantity: l.quantity,
      reservationId: crypto.randomUUID(),
      ttl,
      note: input.reference ?? null,
      actor: auth.actor,
    });
    if (!r) return null;
    return { reservation: pick<ReservationRow>(r, RES_FIELDS, 'r_'), lines: [pick<ReservationLineRow>(r, LINE_FIELDS, 'l_')], userErrors: [] };
  }

  private async reserveIn(tx: Tx, auth: AuthInfo, input: ReserveInput): Promise<ReservationResult> {
    const { ttl, errors } = this.check(input);
    if (errors.length) return fail(...errors);

    // One statement names the variants and locks every level of them in ascending id order
    // (FOR UPDATE OF l, sorted before locking), with the warehouse of each level.
    const vIds = input.lines.map((l) => (l.variantId != null ? decodeId(l.variantId, 'Variant') : null)).filter((x): x is string => !!x);
    const skus = input.lines.map((l) => l.sku).filter((x): x is string => x != null);
    const locked = await tx.query<LockedLevel>(LOCK_LEVELS_SQL, [auth.storeId, vIds, skus]);
    let variants: { id: string; sku: string }[] = [...new Map(locked.map((r) => [r.variant_id, { id: r.variant_id, sku: r.sku }])).values()];
    const variantOf = (l: ReserveLineInput) =>
      l.variantId != null ? variants.find((v) => v.id === decodeId(l.variantId, 'Variant'))?.id : variants.find((v) => v.sku === l.sku)?.id;
    let lineVariant = input.lines.map(variantOf);
    if (lineVariant.some((v) => !v)) {
      // A variant without levels (or none at all): the variants themselves tell which.
      variants = await tx.query<{ id: string; sku: string }>(`SELECT id, sku FROM variants WHERE store_id = $1 AND (id = ANY($2::uuid[]) OR sku = ANY($3::text[]))`, [
        auth.storeId,
        vIds,
        skus,
      ]);
      lineVariant = input.lines.map(variantOf);
    }
    lineVariant.forEach((v, i) => {
      if (!v) errors.push(userError(ErrorCode.VARIANT_NOT_FOUND, `Line ${i}: variant not found`, ['input', 'lines', i, input.lines[i].variantId != null ? 'variantId' : 'sku']));
    });
    // A named warehouse that does not exist is WAREHOUSE_NOT_FOUND, as on every other mutation
    // (INVENTORY_NOT_FOUND is for an existing warehouse without a level of the variant).
    const named = input.lines.filter((l) => l.warehouseId != null || l.warehouseCode != null);
    if (named.length) {
      const wIds = named.map((l) => (l.warehouseId != null ? decodeId(l.warehouseId, 'Warehouse') : null)).filter((x): x is string => !!x);
      const codes = named.map((l) => l.warehouseCode).filter((x): x is string => x != null);
      const found = await tx.query<{ id: string; code: string; read_only: boolean; active: boolean }>(
        `SELECT id, code, read_only, active FROM warehouses WHERE store_id = $1 AND (id = ANY($2::uuid[]) OR code = ANY($3::text[]))`,
        [
        auth.storeId,
        wIds,
        codes,
      ],
      );
      // Then, as on every write, a read-only or inactive warehouse before a missing level.
      input.lines.forEach((l, i) => {
        if (l.warehouseId == null && l.warehouseCode == null) return;
        const wid = l.warehouseId != null ? decodeId(l.warehouseId, 'Warehouse') : null;
        const w = l.warehouseId != null ? (wid ? found.find((x) => x.id === wid) : undefined) : found.find((x) => x.code === l.warehouseCode);
        const f = ['input', 'lines', i, l.warehouseId != null ? 'warehouseId' : 'warehouseCode'];
        if (!w) errors.push(userError(ErrorCode.WAREHOUSE_NOT_FOUND, `Line ${i}: warehouse not found`, f));
        else if (w.read_only) errors.push(userError(ErrorCode.READONLY_WAREHOUSE, `Line ${i}: warehouse ${w.code} is read-only`, ['input', 'lines', i, 'warehouseCode']));
        else if (!w.active) errors.push(userError(ErrorCode.INACTIVE_WAREHOUSE, `Line ${i}: warehouse ${w.code} is inactive`, ['input', 'lines', i, 'warehouseCode']));
      });
    }
    if (errors.length) return fail(...errors);
    const variantIds = [...new Set(lineVariant as string[])];
    const reservationId = crypto.randomUUID();
    const change = (levelId: string, quantity: number): LevelChange => ({
      storeId: auth.storeId,
      levelId,
      mode: 'delta',
      reservedDelta: quantity,
      requireAvailable: true,
      reason: 'RESERVATION',
      actor: auth.actor,
      idempotencyKey: input.idempotencyKey,
      reservationId,
      note: input.reference,
    });

    // Fast path: every line can only be served by one and the same level. Then the stock writer's
    // own conditional change (available ≥ quantity) is the whole allocation. If it refuses, the
    // general path below runs in the same transaction and reports exactly as it always does (the
    // writer only expired due lines, which the availability read below counts the same way, and a
    // refusal rolls everything back).
    const pools = input.lines.map((l, i) => linePool(l, i, locked, lineVariant[i]!));
    const only = pools[0].pool?.length === 1 ? pools[0].pool[0].id : null;
    if (only && pools.every((p) => p.pool?.length === 1 && p.pool[0].id === only)) {
      const total = input.lines.reduce((s, l) => s + l.quantity, 0);
      const r = total <= INT32_MAX ? await applyLevelChange(tx, change(only, total)) : null;
      if (r && !r.failure) {
        return this.insertReservation(tx, auth, input, ttl, reservationId, input.lines.map((l, i) => ({ line: i, levelId: only, quantity: l.quantity })));
      }
    }

    // General path: read the effective availability of every locked level and allocate.
    const candidates = await tx.query<Candidate>(
      `SELECT l.id, l.variant_id, l.warehouse_id, w.code, w.priority, w.read_only, w.active,
              (l.on_hand - ${effectiveReserved()} - l.safety_stock)::int AS available
         FROM inventory_levels l JOIN warehouses w ON w.id = l.warehouse_id
        WHERE l.store_id = $1 AND l.variant_id = ANY($2::uuid[])
        ORDER BY w.priority, w.code`,
      [auth.storeId, variantIds],
    );
    const remaining = new Map(candidates.map((c) => [c.id, Math.max(0, c.available)]));
    const allocations: Allocation[] = [];
    input.lines.forEach((l, i) => {
      const f = ['input', 'lines', i];
      const { pool, error } = linePool(l, i, candidates, lineVariant[i]!);
      if (error) return void errors.push(error);
      let need = l.quantity;
      const taken: typeof allocations = [];
      for (const c of pool!) {
        if (need === 0) break;
        const q = Math.min(need, remaining.get(c.id)!);
        if (q > 0) taken.push({ line: i, levelId: c.id, quantity: q });
        need -= q;
      }
      if (need > 0) {
        const avail = pool!.reduce((s, c) => s + remaining.get(c.id)!, 0);
        errors.push(userError(ErrorCode.INSUFFICIENT_STOCK, `Line ${i}: requested ${l.quantity}, only ${avail} available`, [...f, 'quantity']));
        return;
      }
      for (const t of taken) remaining.set(t.levelId, remaining.get(t.levelId)! - t.quantity);
      allocations.push(...taken);
    });
    if (errors.length) return fail(...errors);

    const perLevel = new Map<string, number>();
    for (const a of allocations) perLevel.set(a.levelId, (perLevel.get(a.levelId) ?? 0) + a.quantity);
    for (const levelId of [...perLevel.keys()].sort()) {
      const r = await applyLevelChange(tx, change(levelId, perLevel.get(levelId)!));
      if (!r || r.failure) throw new RaceError(`level ${levelId} changed under lock`);
    }
    return this.insertReservation(tx, auth, input, ttl, reservationId, allocations);
  }

  /** Inserts the reservation and its lines, and reads them back, in one statement. */
  private async insertReservation(
    tx: Tx,
    auth: AuthInfo,
    input: ReserveInput,
    ttl: number,
    reservationId: string,
    allocations: Allocation[],
  ): Promise<ReservationResult> {
    const rows = await tx.query<Record<string, unknown>>(INSERT_RESERVATION_SQL, [
      reservationId,
      auth.storeId,
      input.reference ?? null,
      ttl,
      input.idempotencyKey ?? null,
      auth.actor,
      allocations.map((a) => a.levelId),
      allocations.map((a) => a.quantity),
      allocations.map((_, i) => i),
    ]);
    const reservation = pick<ReservationRow>(rows[0], RES_FIELDS, 'r_');
    const lines = rows.map((r) => pick<ReservationLineRow>(r, LINE_FIELDS, 'l_'));
    return { reservation, lines, userErrors: [] };
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
