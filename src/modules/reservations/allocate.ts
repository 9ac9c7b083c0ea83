/**
 * Allocation, pure: which level serves how much of each reservation line. No database: the
 * caller reads the candidate levels (locked) and their effective availability, and writes the
 * outcome through the stock writer. Strategies (docs/API.md, "Allocation"): PRIORITY and
 * MOST_AVAILABLE here, line by line; FEWEST_SPLITS for the whole cart in allocate-splits.ts.
 * Every strategy only considers warehouses that serve the reservation's shipTo country.
 */
import { ErrorCode, userError, type UserErrorShape } from '../../graphql/errors';
import { decodeId } from '../../graphql/ids';
import { servesCountry } from '../catalog';
import { fewestSplits } from './allocate-splits';
import type { AllocateOptions, Allocation, Candidate, LevelOption, ReserveLineInput } from './reservation.model';

export type { AllocateOptions, Allocation, Candidate, LevelOption } from './reservation.model';

/**
 * The levels that may serve line `i`: the one in the named warehouse (refused when missing,
 * read-only, inactive or not shipping to `shipTo`), or else every active, writable level of the
 * variant whose warehouse ships to `shipTo`, in `levels` order (SHIP_TO_NOT_SERVED when the
 * variant has writable levels but none of them ships there).
 */
export function linePool<T extends LevelOption>(
  l: ReserveLineInput,
  i: number,
  levels: readonly T[],
  variantId: string,
  shipTo?: string | null,
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
    if (!servesCountry(c, shipTo))
      return { error: notServed(i, `warehouse ${c.code} does not ship to ${shipTo}`, [...f, 'warehouseCode']) };
    return { pool: [c] };
  }
  const writable = pool.filter((c) => c.active && !c.read_only);
  const serving = writable.filter((c) => servesCountry(c, shipTo));
  if (writable.length > 0 && serving.length === 0) return { error: notServed(i, `no warehouse with this variant ships to ${shipTo}`, f) };
  return { pool: serving };
}

const notServed = (i: number, why: string, field: (string | number)[]) =>
  userError(ErrorCode.SHIP_TO_NOT_SERVED, `Line ${i}: ${why}`, field);

/**
 * The one level that can serve every line, when each line can only be served by one and the same
 * level (then the writer's own conditional change is the whole allocation); otherwise null.
 */
export function singleLevel(
  lines: readonly ReserveLineInput[],
  levels: readonly LevelOption[],
  lineVariant: readonly string[],
  shipTo?: string | null,
): string | null {
  const pools = lines.map((l, i) => linePool(l, i, levels, lineVariant[i], shipTo));
  const only = pools[0]?.pool?.length === 1 ? pools[0].pool[0].id : null;
  return only && pools.every((p) => p.pool?.length === 1 && p.pool[0].id === only) ? only : null;
}

/**
 * Allocates every line, or says why not (`errors`). `lineVariant[i]` is line i's variant id.
 *
 * PRIORITY: each line, in request order, takes from its pool's levels in the order of
 * `candidates` (warehouse priority, then code) as much as each still has, until the line is
 * served. MOST_AVAILABLE: the same, but each line takes first from the level that has the most
 * left (ties in `candidates` order). Under both, a line takes the stock on hand in every level of
 * its pool first, and only then backorders (a level's `backorder` units; MOST_AVAILABLE: the least
 * backordered level first), so that no line is backordered while another warehouse has the stock.
 * A line that cannot be served in full is INSUFFICIENT_STOCK (naming what its pool has left, stock
 * and backorder room); what earlier lines took is not available to later ones.
 * FEWEST_SPLITS: see fewestSplits(), over stock on hand only; a cart that stock cannot serve
 * (backorders needed, or not enough at all) is allocated and reported as PRIORITY does.
 */
export function allocate(
  lines: readonly ReserveLineInput[],
  lineVariant: readonly string[],
  candidates: readonly Candidate[],
  opts: AllocateOptions = {},
): { allocations: Allocation[]; errors: UserErrorShape[] } {
  const stock = new Map(candidates.map((c) => [c.id, Math.max(0, c.available)]));
  const backorder = new Map(candidates.map((c) => [c.id, Math.max(0, c.backorder ?? 0)]));
  // Available after the earlier lines' takes (negative once backordered): MOST_AVAILABLE's order.
  const net = new Map(candidates.map((c) => [c.id, c.available]));
  const pools = lines.map((l, i) => linePool(l, i, candidates, lineVariant[i], opts.shipTo));
  if (opts.strategy === 'FEWEST_SPLITS') {
    const planned = fewestSplits(lines, pools, stock);
    if (planned) return { allocations: planned, errors: [] };
  }
  const allocations: Allocation[] = [];
  const errors: UserErrorShape[] = [];
  lines.forEach((l, i) => {
    const { pool, error } = pools[i];
    if (error) return void errors.push(error);
    let need = l.quantity;
    const takes: { from: Map<string, number>; levelId: string; quantity: number }[] = [];
    for (const from of [stock, backorder]) {
      // The backorder pass runs only once the line took every unit of stock in its pool: then each
      // level's available is min(net, 0), and MOST_AVAILABLE backorders the least backordered first.
      const key = (id: string) => (from === stock ? net.get(id)! : Math.min(net.get(id)!, 0));
      const order = opts.strategy === 'MOST_AVAILABLE' ? [...pool!].sort((a, b) => key(b.id) - key(a.id)) : pool!;
      // Each (source, level) is visited once per line, so what it still has is what the map says.
      for (const c of order) {
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
      net.set(t.levelId, net.get(t.levelId)! - t.quantity);
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
