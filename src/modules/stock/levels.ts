/**
 * Finding levels: address resolution for writes and effective-counter reads. Reads subtract
 * reservation lines that are due but not yet swept, so an expired hold stops counting at once.
 */
import { preparedStatement } from '../../db/client';
import type { Tx } from '../../db/tx';
import { decodeId } from '../../graphql/ids';
import { ErrorCode, userError, type UserErrorShape } from '../../graphql/errors';
import { dueLines } from './sql-parts';
import type { LevelRow } from './types';

export interface LevelAddress {
  inventoryLevelId?: string | null;
  variantId?: string | null;
  sku?: string | null;
  warehouseId?: string | null;
  warehouseCode?: string | null;
}

export interface ResolvedLevel {
  levelId: string | null;
  variantId: string;
  warehouseId: string;
  readOnly: boolean;
  warehouseActive: boolean;
}

/**
 * SQL: the effective `reserved` of level row `l` — without its lines that are due but not yet
 * swept (reads never wait for the sweeper).
 */
export const effectiveReserved = (l = 'l') => `(${l}.reserved - coalesce((SELECT sum(rl.quantity) FROM reservation_lines rl
      WHERE ${dueLines('rl', `${l}.store_id`, `= ${l}.id`)}), 0))::int`;

/** The LevelRow columns of the level row at alias `a`, with `reserved` given as an SQL expression. */
export const levelColumns = (
  a: string,
  reserved: string,
) => `${a}.id, ${a}.store_id AS "storeId", ${a}.variant_id AS "variantId", ${a}.warehouse_id AS "warehouseId",
  ${a}.on_hand AS "onHand", ${reserved} AS reserved, ${a}.incoming, ${a}.safety_stock AS "safetyStock",
  ${a}.low_stock_threshold AS "lowStockThreshold", ${a}.critical_threshold AS "criticalThreshold",
  ${a}.inventory_policy AS "inventoryPolicy", ${a}.backorder_limit AS "backorderLimit", ${a}.version, ${a}.updated_at AS "updatedAt"`;

/** Effective counters: `reserved` without lines that are due but not yet swept. */
export const LEVEL_COLUMNS = levelColumns('l', effectiveReserved());

const LEVELS_BY_IDS_SQL = preparedStatement(
  'levels_by_ids',
  `SELECT ${LEVEL_COLUMNS} FROM inventory_levels l WHERE l.store_id = $1 AND l.id = ANY($2::uuid[])`,
);

export async function levelsByIds(tx: Tx, storeId: string, ids: readonly string[]): Promise<LevelRow[]> {
  return tx.query<LevelRow>(LEVELS_BY_IDS_SQL, [storeId, ids]);
}

function addressErrors(a: LevelAddress, path: (string | number)[]): UserErrorShape[] {
  if (a.inventoryLevelId != null) {
    if (a.variantId != null || a.sku != null || a.warehouseId != null || a.warehouseCode != null) {
      return [userError(ErrorCode.INVALID_INPUT, 'Give either inventoryLevelId or a variant and a warehouse, not both', path)];
    }
    return [];
  }
  const errs: UserErrorShape[] = [];
  if ((a.variantId == null) === (a.sku == null))
    errs.push(userError(ErrorCode.INVALID_INPUT, 'Give exactly one of variantId or sku', [...path, 'sku']));
  if ((a.warehouseId == null) === (a.warehouseCode == null)) {
    errs.push(userError(ErrorCode.INVALID_INPUT, 'Give exactly one of warehouseId or warehouseCode', [...path, 'warehouseCode']));
  }
  return errs;
}

/**
 * Resolves an address to a level in the store. With `create`, a missing level of an existing
 * variant and warehouse is created (at zero).
 */
export async function resolveLevel(
  tx: Tx,
  storeId: string,
  a: LevelAddress,
  opts: { create: boolean; path?: (string | number)[] },
): Promise<{ level: ResolvedLevel } | { errors: UserErrorShape[] }> {
  const path = opts.path ?? ['input'];
  const bad = addressErrors(a, path);
  if (bad.length) return { errors: bad };
  if (a.inventoryLevelId != null) {
    const id = decodeId(a.inventoryLevelId, 'InventoryLevel');
    const rows = id
      ? await tx.query<ResolvedLevel>(
          `SELECT l.id AS "levelId", l.variant_id AS "variantId", l.warehouse_id AS "warehouseId", w.read_only AS "readOnly", w.active AS "warehouseActive"
             FROM inventory_levels l JOIN warehouses w ON w.id = l.warehouse_id AND w.store_id = l.store_id WHERE l.id = $1 AND l.store_id = $2`,
          [id, storeId],
        )
      : [];
    if (!rows[0]) return { errors: [userError(ErrorCode.INVENTORY_NOT_FOUND, 'Inventory level not found', [...path, 'inventoryLevelId'])] };
    return { level: rows[0] };
  }
  const variantId = a.variantId != null ? decodeId(a.variantId, 'Variant') : null;
  const warehouseId = a.warehouseId != null ? decodeId(a.warehouseId, 'Warehouse') : null;
  const [row] = await tx.query<{
    variant_id: string | null;
    warehouse_id: string | null;
    read_only: boolean;
    active: boolean;
    level_id: string | null;
  }>(
    `SELECT v.id AS variant_id, w.id AS warehouse_id, w.read_only, w.active, l.id AS level_id
       FROM (SELECT 1) one
       LEFT JOIN variants v ON v.store_id = $1 AND (v.id = $2::uuid OR v.sku = $3)
       LEFT JOIN warehouses w ON w.store_id = $1 AND (w.id = $4::uuid OR w.code = $5)
       LEFT JOIN inventory_levels l ON l.store_id = $1 AND l.variant_id = v.id AND l.warehouse_id = w.id`,
    [storeId, variantId, a.variantId != null ? null : a.sku, warehouseId, a.warehouseId != null ? null : a.warehouseCode],
  );
  const errors: UserErrorShape[] = [];
  if (!row?.variant_id)
    errors.push(userError(ErrorCode.VARIANT_NOT_FOUND, 'Variant not found', [...path, a.variantId != null ? 'variantId' : 'sku']));
  if (!row?.warehouse_id) {
    errors.push(
      userError(ErrorCode.WAREHOUSE_NOT_FOUND, 'Warehouse not found', [...path, a.warehouseId != null ? 'warehouseId' : 'warehouseCode']),
    );
  }
  if (errors.length) return { errors };
  let levelId = row.level_id;
  if (!levelId && opts.create && !row.read_only) levelId = await ensureLevel(tx, storeId, row.variant_id!, row.warehouse_id!);
  if (!levelId && !row.read_only) {
    return { errors: [userError(ErrorCode.INVENTORY_NOT_FOUND, 'This variant has no inventory level in that warehouse', path)] };
  }
  return {
    level: { levelId, variantId: row.variant_id!, warehouseId: row.warehouse_id!, readOnly: row.read_only, warehouseActive: row.active },
  };
}

/** Creates the level if missing and returns its id. */
export async function ensureLevel(tx: Tx, storeId: string, variantId: string, warehouseId: string): Promise<string> {
  const ins = await tx.query<{ id: string }>(
    `INSERT INTO inventory_levels (store_id, variant_id, warehouse_id) VALUES ($1, $2, $3)
     ON CONFLICT (store_id, variant_id, warehouse_id) DO NOTHING RETURNING id`,
    [storeId, variantId, warehouseId],
  );
  if (ins[0]) return ins[0].id;
  // Conflict: a new statement sees the row another transaction committed meanwhile.
  const [r] = await tx.query<{ id: string }>(
    `SELECT id FROM inventory_levels WHERE store_id = $1 AND variant_id = $2 AND warehouse_id = $3`,
    [storeId, variantId, warehouseId],
  );
  return r.id;
}

/**
 * ensureLevel() for many (variant, warehouse) pairs: one INSERT for all of them (in a fixed order,
 * so two such calls never deadlock), and one SELECT only for those another transaction created
 * meanwhile. Returns the level id per pair key `variantId|warehouseId`.
 */
export async function ensureLevels(
  tx: Tx,
  storeId: string,
  pairs: readonly { variantId: string; warehouseId: string }[],
): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  if (pairs.length === 0) return out;
  const sorted = [...pairs].sort((a, b) => (a.variantId + a.warehouseId < b.variantId + b.warehouseId ? -1 : 1));
  const v = sorted.map((p) => p.variantId);
  const w = sorted.map((p) => p.warehouseId);
  const made = await tx.query<{ id: string; variant_id: string; warehouse_id: string }>(
    `INSERT INTO inventory_levels (store_id, variant_id, warehouse_id)
     SELECT $1, k.v, k.w FROM unnest($2::uuid[], $3::uuid[]) WITH ORDINALITY AS k(v, w, i) ORDER BY k.i
     ON CONFLICT (store_id, variant_id, warehouse_id) DO NOTHING RETURNING id, variant_id, warehouse_id`,
    [storeId, v, w],
  );
  for (const r of made) out.set(`${r.variant_id}|${r.warehouse_id}`, r.id);
  const lost = sorted.filter((p) => !out.has(`${p.variantId}|${p.warehouseId}`));
  if (lost.length) {
    // Conflicts: a new statement sees the rows other transactions committed meanwhile.
    for (const r of await findLevels(tx, storeId, lost)) out.set(`${r.variant_id}|${r.warehouse_id}`, r.id);
  }
  return out;
}

/**
 * The existing levels of (variant, warehouse) pairs: per pair, the variant's levels by the unique
 * key's prefix (store_id, variant_id): one per warehouse at most), then its warehouse's. The LATERAL
 * subquery with OFFSET is never merged into a join and takes no condition from outside, so no plan
 * hashes the store's levels to find a few, nor walks a warehouse's levels for each pair through the
 * (store_id, warehouse_id) index: without statistics (no ANALYZE when autovacuum is off) the
 * planner takes a store for a fraction of its size and found both cheaper (test/e2e/bulk-plans.test.ts).
 */
export function findLevels(
  tx: Tx,
  storeId: string,
  pairs: readonly { variantId: string; warehouseId: string }[],
): Promise<{ id: string; variant_id: string; warehouse_id: string }[]> {
  return tx.query(
    `SELECT l.id, l.variant_id, l.warehouse_id
       FROM unnest($2::uuid[], $3::uuid[]) AS k(v, w),
            LATERAL (SELECT l.id, l.variant_id, l.warehouse_id FROM inventory_levels l WHERE l.store_id = $1 AND l.variant_id = k.v OFFSET 0) l
      WHERE l.warehouse_id = k.w`,
    [storeId, pairs.map((p) => p.variantId), pairs.map((p) => p.warehouseId)],
  );
}

/** Locks levels (FOR UPDATE) in ascending id order, before changing them in another order. */
export async function lockLevels(tx: Tx, storeId: string, ids: string[]): Promise<void> {
  await tx.query(`SELECT id FROM inventory_levels WHERE store_id = $1 AND id = ANY($2::uuid[]) ORDER BY id FOR UPDATE`, [storeId, ids]);
}
