/**
 * The general path of inventoryReserve, in one transaction: lock every level of the named
 * variants (ascending id), check the lines, allocate (allocate.ts) and change the levels through
 * the stock writer, then insert the reservation and its lines.
 */
import { timeOrderedId } from '../../db/time-ordered-id';
import type { Config } from '../../config';
import { preparedStatement } from '../../db/client';
import type { Tx } from '../../db/tx';
import { ErrorCode, userError, type UserErrorShape } from '../../graphql/errors';
import { decodeId } from '../../graphql/ids';
import { LIMITS, validateText } from '../../validation';
import type { AuthInfo } from '../../graphql/scopes';
import {
  allowanceSql,
  applyLevelChange,
  columns,
  effectiveReserved,
  INT32_MAX,
  LINE_FIELDS,
  pick,
  RES_FIELDS,
  type LevelChange,
  type ReservationLineRow,
  type ReservationRow,
} from '../stock';
import { allocate, perLevel, singleLevel, type Allocation, type Candidate, type LevelOption } from './allocate';
import { isCountryCode } from '../catalog';
import {
  fail,
  RaceError,
  type AllocationStrategy,
  type ReservationResult,
  type ReserveInput,
  type ReserveLineInput,
} from './reservation.model';

/** The variants named by a reservation, and every level of them locked in ascending id order. */
const LOCK_LEVELS_SQL = preparedStatement(
  'reserve_lock',
  `SELECT l.id, l.variant_id, v.sku, l.warehouse_id, w.code, w.priority, w.read_only, w.active, w.serves_countries, w.serves_zones
  FROM inventory_levels l
  JOIN variants v ON v.id = l.variant_id AND v.store_id = l.store_id
  JOIN warehouses w ON w.id = l.warehouse_id AND w.store_id = l.store_id
 WHERE l.store_id = $1 AND (v.id = ANY($2::uuid[]) OR v.sku = ANY($3::text[]))
 ORDER BY l.id
   FOR UPDATE OF l`,
);

/** The reservation and its lines, inserted and returned (one row per line) as loadResult() reads them. */
const INSERT_RESERVATION_SQL = preparedStatement(
  'reserve_insert',
  `WITH r AS (
  INSERT INTO reservations (id, store_id, status, reference, expires_at, idempotency_key, actor)
  VALUES ($1, $2, 'ACTIVE', $3, now() + make_interval(secs => $4), $5, $6)
  RETURNING *
), rl AS (
  INSERT INTO reservation_lines (store_id, reservation_id, inventory_level_id, quantity, original_quantity, expires_at, position)
  SELECT r.store_id, r.id, a.level_id, a.q, a.q, r.expires_at, a.pos
    FROM unnest($7::uuid[], $8::int[], $9::int[]) AS a(level_id, q, pos), r
  RETURNING *
)
SELECT ${columns(RES_FIELDS, 'r_')}, ${columns(LINE_FIELDS, 'l_')}
  FROM r, rl
 ORDER BY rl.position`,
);

/** Checks of the input alone; returns the lifetime to use and the errors. */
export function checkReserve(config: Config, input: ReserveInput): { ttl: number; errors: UserErrorShape[] } {
  const ttl = input.ttlSeconds ?? config.reservationTtlDefaultSeconds;
  const errors: UserErrorShape[] = [];
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > config.reservationTtlMaxSeconds) {
    errors.push(
      userError(ErrorCode.INVALID_TTL, `ttlSeconds must be between 1 and ${config.reservationTtlMaxSeconds}`, ['input', 'ttlSeconds']),
    );
  }
  if (input.reference != null) errors.push(...validateText(input.reference, ['input', 'reference'], { max: LIMITS.reference }));
  if (input.shipTo != null && !isCountryCode(String(input.shipTo.countryCode).toUpperCase()))
    errors.push(
      userError(ErrorCode.INVALID_INPUT, 'shipTo.countryCode must be an ISO 3166-1 alpha-2 country code, e.g. "DE"', [
        'input',
        'shipTo',
        'countryCode',
      ]),
    );
  if (input.lines.length === 0) errors.push(userError(ErrorCode.INVALID_INPUT, 'lines must not be empty', ['input', 'lines']));
  if (input.lines.length > LIMITS.reserveLines)
    errors.push(userError(ErrorCode.TOO_MANY_ITEMS, `At most ${LIMITS.reserveLines} lines`, ['input', 'lines']));
  input.lines.forEach((l, i) => {
    const f = ['input', 'lines', i];
    if ((l.variantId == null) === (l.sku == null))
      errors.push(userError(ErrorCode.INVALID_INPUT, 'Give exactly one of variantId or sku', [...f, 'sku']));
    if (l.warehouseId != null && l.warehouseCode != null)
      errors.push(userError(ErrorCode.INVALID_INPUT, 'Give at most one of warehouseId or warehouseCode', [...f, 'warehouseCode']));
    if (!Number.isInteger(l.quantity) || l.quantity <= 0)
      errors.push(userError(ErrorCode.NEGATIVE_QUANTITY, 'quantity must be greater than 0', [...f, 'quantity']));
    else if (l.quantity > INT32_MAX)
      errors.push(userError(ErrorCode.QUANTITY_OUT_OF_RANGE, `quantity must be at most ${INT32_MAX}`, [...f, 'quantity']));
  });
  return { ttl, errors };
}

/** A level of a named variant, locked, with its variant's sku and its warehouse. */
interface LockedLevel extends LevelOption {
  sku: string;
}

/**
 * Locks every level of the variants the lines name (one statement, ascending id) and finds each
 * line's variant. Errors: a variant that does not exist, a named warehouse that does not exist
 * (WAREHOUSE_NOT_FOUND, as on every other mutation) or is read-only or inactive.
 */
async function lockLines(
  tx: Tx,
  storeId: string,
  input: ReserveInput,
): Promise<{ locked: LockedLevel[]; lineVariant: string[]; errors: UserErrorShape[] }> {
  const errors: UserErrorShape[] = [];
  const vIds = input.lines.map((l) => (l.variantId != null ? decodeId(l.variantId, 'Variant') : null)).filter((x): x is string => !!x);
  const skus = input.lines.map((l) => l.sku).filter((x): x is string => x != null);
  const locked = await tx.query<LockedLevel>(LOCK_LEVELS_SQL, [storeId, vIds, skus]);
  let variants: { id: string; sku: string }[] = [...new Map(locked.map((r) => [r.variant_id, { id: r.variant_id, sku: r.sku }])).values()];
  const variantOf = (l: ReserveLineInput) =>
    l.variantId != null ? variants.find((v) => v.id === decodeId(l.variantId, 'Variant'))?.id : variants.find((v) => v.sku === l.sku)?.id;
  let lineVariant = input.lines.map(variantOf);
  if (lineVariant.some((v) => !v)) {
    // A variant without levels (or none at all): the variants themselves tell which.
    variants = await tx.query<{ id: string; sku: string }>(
      `SELECT id, sku FROM variants WHERE store_id = $1 AND (id = ANY($2::uuid[]) OR sku = ANY($3::text[]))`,
      [storeId, vIds, skus],
    );
    lineVariant = input.lines.map(variantOf);
  }
  lineVariant.forEach((v, i) => {
    if (!v)
      errors.push(
        userError(ErrorCode.VARIANT_NOT_FOUND, `Line ${i}: variant not found`, [
          'input',
          'lines',
          i,
          input.lines[i].variantId != null ? 'variantId' : 'sku',
        ]),
      );
  });
  errors.push(...(await namedWarehouseErrors(tx, storeId, input.lines)));
  return { locked, lineVariant: lineVariant as string[], errors };
}

/** Lines naming a warehouse that does not exist, then (as on every write) a read-only or inactive one. */
async function namedWarehouseErrors(tx: Tx, storeId: string, lines: ReserveLineInput[]): Promise<UserErrorShape[]> {
  const named = lines.filter((l) => l.warehouseId != null || l.warehouseCode != null);
  if (!named.length) return [];
  const wIds = named.map((l) => (l.warehouseId != null ? decodeId(l.warehouseId, 'Warehouse') : null)).filter((x): x is string => !!x);
  const codes = named.map((l) => l.warehouseCode).filter((x): x is string => x != null);
  const found = await tx.query<{ id: string; code: string; read_only: boolean; active: boolean }>(
    `SELECT id, code, read_only, active FROM warehouses WHERE store_id = $1 AND (id = ANY($2::uuid[]) OR code = ANY($3::text[]))`,
    [storeId, wIds, codes],
  );
  const errors: UserErrorShape[] = [];
  lines.forEach((l, i) => {
    if (l.warehouseId == null && l.warehouseCode == null) return;
    const wid = l.warehouseId != null ? decodeId(l.warehouseId, 'Warehouse') : null;
    const w = l.warehouseId != null ? (wid ? found.find((x) => x.id === wid) : undefined) : found.find((x) => x.code === l.warehouseCode);
    const f = ['input', 'lines', i, l.warehouseId != null ? 'warehouseId' : 'warehouseCode'];
    if (!w) errors.push(userError(ErrorCode.WAREHOUSE_NOT_FOUND, `Line ${i}: warehouse not found`, f));
    else if (w.read_only)
      errors.push(
        userError(ErrorCode.READONLY_WAREHOUSE, `Line ${i}: warehouse ${w.code} is read-only`, ['input', 'lines', i, 'warehouseCode']),
      );
    else if (!w.active)
      errors.push(
        userError(ErrorCode.INACTIVE_WAREHOUSE, `Line ${i}: warehouse ${w.code} is inactive`, ['input', 'lines', i, 'warehouseCode']),
      );
  });
  return errors;
}

/**
 * The effective availability of every level of the variants, and the units each may still sell
 * below zero under its backorder policy, in allocation order (priority, code), each row with the
 * store's default allocation strategy.
 */
async function candidates(tx: Tx, storeId: string, variantIds: string[]): Promise<(Candidate & { strategy: AllocationStrategy })[]> {
  return tx.query<Candidate & { strategy: AllocationStrategy }>(
    `SELECT l.id, l.variant_id, l.warehouse_id, w.code, w.priority, w.read_only, w.active, w.serves_countries, w.serves_zones,
            (l.on_hand - ${effectiveReserved()} - l.safety_stock)::int AS available,
            greatest(0, ${allowanceSql('l', 'v')} + least(l.on_hand - ${effectiveReserved()} - l.safety_stock, 0))::int AS backorder,
            (SELECT s.allocation_strategy::text FROM stores s WHERE s.id = $1) AS strategy
       FROM inventory_levels l JOIN warehouses w ON w.id = l.warehouse_id AND w.store_id = l.store_id
       JOIN variants v ON v.id = l.variant_id AND v.store_id = l.store_id
      WHERE l.store_id = $1 AND l.variant_id = ANY($2::uuid[])
      ORDER BY w.priority, w.code`,
    [storeId, variantIds],
  );
}

/** inventoryReserve's general path, inside the transaction of stockOperation(). */
export async function reserveInTx(config: Config, tx: Tx, auth: AuthInfo, input: ReserveInput): Promise<ReservationResult> {
  const { ttl, errors } = checkReserve(config, input);
  if (errors.length) return fail(...errors);
  const { locked, lineVariant, errors: lineErrors } = await lockLines(tx, auth.storeId, input);
  if (lineErrors.length) return fail(...lineErrors);
  const reservationId = timeOrderedId();
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
  const insert = (allocations: Allocation[]) => insertReservation(tx, auth, input, ttl, reservationId, allocations);

  // Fast path: every line can only be served by one and the same level. Then the stock writer's
  // own conditional change (available ≥ quantity) is the whole allocation. If it refuses, the
  // general path below runs in the same transaction and reports exactly as it always does (the
  // writer only expired due lines, which the availability read below counts the same way, and a
  // refusal rolls everything back).
  const shipTo = input.shipTo != null ? input.shipTo.countryCode.toUpperCase() : null;
  const only = singleLevel(input.lines, locked, lineVariant, shipTo);
  if (only) {
    const total = input.lines.reduce((s, l) => s + l.quantity, 0);
    const r = total <= INT32_MAX ? await applyLevelChange(tx, change(only, total)) : null;
    if (r && !r.failure) return insert(input.lines.map((l, i) => ({ line: i, levelId: only, quantity: l.quantity })));
  }

  // General path: read the effective availability of every locked level and allocate, by the
  // request's strategy or else the store's.
  const levels = await candidates(tx, auth.storeId, [...new Set(lineVariant)]);
  const strategy = input.allocationStrategy ?? levels[0]?.strategy ?? 'PRIORITY';
  const plan = allocate(input.lines, lineVariant, levels, { strategy, shipTo });
  if (plan.errors.length) return fail(...plan.errors);
  for (const [levelId, quantity] of perLevel(plan.allocations)) {
    const r = await applyLevelChange(tx, change(levelId, quantity));
    if (!r || r.failure) throw new RaceError(`level ${levelId} changed under lock`);
  }
  return insert(plan.allocations);
}

/** Inserts the reservation and its lines, and reads them back, in one statement. */
async function insertReservation(
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
