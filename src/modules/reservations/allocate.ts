/**
 * Allocation, pure: which level serves how much of each reservation line. No database: the
 * caller reads the candidate levels (locked) and their effective availability, and writes the
 * outcome through the stock writer.
 */
import { ErrorCode, userError, type UserErrorShape } from '../../graphql/errors';
import { decodeId } from '../../graphql/ids';
import type { ReserveLineInput } from './reservation.model';

/** A level that may serve a line, with its warehouse. */
export interface LevelOption {
  id: string;
  variant_id: string;
  warehouse_id: string;
  code: string;
  priority: number;
  read_only: boolean;
  active: boolean;
}

/**
 * A level option with what it has available now (may be negative: counts as 0) and, under a
 * CONTINUE or PREORDER policy, how many more units it may sell below zero (`backorder`, default 0).
 */
export interface Candidate extends LevelOption {
  available: number;
  backorder?: number;
}

export interface Allocation {
  /** Index of the line in the request. */
  line: number;
  levelId: string;
  quantity: number;
}

/**
 * The levels that may serve line `i`: the one in the named warehouse (refused when missing,
 * read-only or inactive), or else every active, writable level of the variant, in `levels` order.
 */
export function linePool<T extends LevelOption>(
  l: ReserveLineInput,
  i: number,
  levels: readonly T[],
  variantId: string,
): { pool?: T[]; error?: UserErrorShape } {
  const f = ['input', 'lines', i];
  const pool = levels.filter((c) => c.variant_id === variantId);
  if (l.warehouseId != null || l.warehouseCode != null) {
    const wid = l.warehouseId != null ? decodeId(l.warehouseId, 'Warehouse') : null;
    const c = pool.find((x) => (wid ? x.warehouse_id === wid : x.code === l.warehouseCode));
    if (!c)
      return {
        error: userError(ErrorCode.INVENTORY_NOT_FOUND, `Line ${i}: no inventory for this variant in that warehouse`, [
          ...f,
          l.warehouseId != null ? 'warehouseId' : 'warehouseCode',
        ]),
      };
    if (c.read_only)
      return { error: userError(ErrorCode.READONLY_WAREHOUSE, `Line ${i}: warehouse ${c.code} is read-only`, [...f, 'warehouseCode']) };
    if (!c.active)
      return { error: userError(ErrorCode.INACTIVE_WAREHOUSE, `Line ${i}: warehouse ${c.code} is inactive`, [...f, 'warehouseCode']) };
    return { pool: [c] };
  }
  return { pool: pool.filter((c) => c.active && !c.read_only) };
}

/**
 * The one level that can serve every line, when each line can only be served by one and the same
 * level (then the writer's own conditional change is the whole allocation); otherwise null.
 */
export function singleLevel(
  lines: readonly ReserveLineInput[],
  levels: readonly LevelOption[],
  lineVariant: readonly string[],
): string | null {
  const pools = lines.map((l, i) => linePool(l, i, levels, lineVariant[i]));
  const only = pools[0]?.pool?.length === 1 ? pools[0].pool[0].id : null;
  return only && pools.every((p) => p.pool?.length === 1 && p.pool[0].id === only) ? only : null;
}

/**
 * PRIORITY allocation: each line, in request order, takes from its pool's levels in the order of
 * `candidates` (warehouse priority, then code) as much as each still has, until the line is
 * served; stock on hand first in every level of the pool, and only then backorders (a level's
 * `backorder` units), so that no line is backordered while another warehouse has the stock. A line
 * that cannot be served in full is INSUFFICIENT_STOCK (naming what its pool has left); what earlier
 * lines took is not available to later ones. `lineVariant[i]` is line i's variant id. All lines are
 * served, or `errors` says why not.
 */
export function allocate(
  lines: readonly ReserveLineInput[],
  lineVariant: readonly string[],
  candidates: readonly Candidate[],
): { allocations: Allocation[]; errors: UserErrorShape[] } {
  const stock = new Map(candidates.map((c) => [c.id, Math.max(0, c.available)]));
  const backorder = new Map(candidates.map((c) => [c.id, Math.max(0, c.backorder ?? 0)]));
  const allocations: Allocation[] = [];
  const errors: UserErrorShape[] = [];
  lines.forEach((l, i) => {
    const { pool, error } = linePool(l, i, candidates, lineVariant[i]);
    if (error) return void errors.push(error);
    let need = l.quantity;
    // Each (source, level) is visited once per line, so what it still has is what the map says.
    const takes: { from: Map<string, number>; levelId: string; quantity: number }[] = [];
    for (const from of [stock, backorder]) {
      for (const c of pool!) {
        if (need === 0) break;
        const q = Math.min(need, from.get(c.id)!);
        if (q > 0) takes.push({ from, levelId: c.id, quantity: q });
        need -= q;
      }
    }
    if (need > 0) {
      const avail = pool!.reduce((s, c) => s + stock.get(c.id)! + backorder.get(c.id)!, 0);
      errors.push(
        userError(ErrorCode.INSUFFICIENT_STOCK, `Line ${i}: requested ${l.quantity}, only ${avail} available`, [
          'input',
          'lines',
          i,
          'quantity',
        ]),
      );
      return;
    }
    const perLine = new Map<string, number>();
    for (const t of takes) {
      t.from.set(t.levelId, t.from.get(t.levelId)! - t.quantity);
      perLine.set(t.levelId, (perLine.get(t.levelId) ?? 0) + t.quantity);
    }
    for (const [levelId, quantity] of perLine) allocations.push({ line: i, levelId, quantity });
  });
  return { allocations, errors };
}

/** The total quantity per level of some allocations, in ascending level id (the lock order). */
export function perLevel(allocations: readonly Allocation[]): [string, number][] {
  const m = new Map<string, number>();
  for (const a of allocations) m.set(a.levelId, (m.get(a.levelId) ?? 0) + a.quantity);
  return [...m.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}
