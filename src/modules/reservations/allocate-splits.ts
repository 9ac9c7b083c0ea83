/**
 * FEWEST_SPLITS allocation, pure: serve the whole cart from as few warehouses as possible.
 *
 *  1. Lines that name a warehouse take from it first (they fix the warehouses they use).
 *  2. The other lines are served from a set S of warehouses that can cover their demand per
 *     variant, added to the fixed ones. S is the smallest such set: sizes 0, 1, 2, … are tried in
 *     order, each size's sets in `candidates` order (priority, code), so a single warehouse that
 *     can fill the whole cart is always chosen when there is one, and among several the first by
 *     priority. Sizes 0 and 1 are always searched exhaustively; larger sets while at most
 *     SEARCH_BUDGET sets have been tried, then a greedy cover takes over (each step adds the
 *     warehouse that covers the most missing units).
 *  3. Within S, each line takes its whole quantity from the first warehouse (in `candidates`
 *     order) that still has it, else from the warehouses with the most left first.
 * Returns null when a line cannot be served this way (the caller reports as PRIORITY does).
 */
import type { Allocation, Candidate, ReserveLineInput } from './reservation.model';

/** How many warehouse sets of size ≥ 2 are tried before the greedy cover takes over. */
export const SEARCH_BUDGET = 20_000;

type Pool = { pool?: Candidate[]; error?: unknown };

const isNamed = (l: ReserveLineInput) => l.warehouseId != null || l.warehouseCode != null;

/** The cart's unnamed demand per variant, and each warehouse's level per variant. */
interface Cover {
  demand: Map<string, number>;
  /** warehouse id → variant id → level */
  levels: Map<string, Map<string, Candidate>>;
  /** Warehouses in `candidates` order (first appearance in the pools). */
  order: string[];
}

function coverOf(lines: readonly ReserveLineInput[], pools: readonly Pool[], unnamed: number[]): Cover {
  const demand = new Map<string, number>();
  const levels = new Map<string, Map<string, Candidate>>();
  const order: string[] = [];
  for (const i of unnamed) {
    for (const c of pools[i].pool!) {
      if (!levels.has(c.warehouse_id)) {
        levels.set(c.warehouse_id, new Map());
        order.push(c.warehouse_id);
      }
      levels.get(c.warehouse_id)!.set(c.variant_id, c);
    }
    const v = pools[i].pool![0]?.variant_id;
    if (v === undefined) return { demand: new Map([['', 1]]), levels, order }; // a line nothing can serve
    demand.set(v, (demand.get(v) ?? 0) + lines[i].quantity);
  }
  return { demand, levels, order };
}

/** Units of each variant still missing when the warehouses `set` serve the demand. */
function missing(cover: Cover, set: readonly string[], rem: Map<string, number>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [v, need] of cover.demand) {
    let have = 0;
    for (const w of set) {
      const c = cover.levels.get(w)?.get(v);
      if (c) have += rem.get(c.id)!;
    }
    if (have < need) out.set(v, need - have);
  }
  return out;
}

/** Sets of `k` of `items`, in lexicographic order of positions. */
function* combinations<T>(items: readonly T[], k: number, from = 0): Generator<T[]> {
  if (k === 0) return void (yield []);
  for (let i = from; i <= items.length - k; i++) for (const rest of combinations(items, k - 1, i + 1)) yield [items[i], ...rest];
}

/** The smallest set of extra warehouses (besides `fixed`) that covers the demand (see the header). */
function chooseSet(cover: Cover, fixed: string[], rem: Map<string, number>): string[] | null {
  const others = cover.order.filter((w) => !fixed.includes(w));
  if (missing(cover, [...fixed, ...others], rem).size > 0) return null;
  let tried = 0;
  for (let k = 0; k <= others.length; k++) {
    for (const t of combinations(others, k)) {
      if (missing(cover, [...fixed, ...t], rem).size === 0) return [...fixed, ...t];
      if (k >= 2 && ++tried > SEARCH_BUDGET) return greedyCover(cover, fixed, others, rem);
    }
  }
  return null;
}

function greedyCover(cover: Cover, fixed: string[], others: string[], rem: Map<string, number>): string[] {
  const set = [...fixed];
  for (let gaps = missing(cover, set, rem); gaps.size > 0; gaps = missing(cover, set, rem)) {
    let best: string | null = null;
    let bestUnits = 0;
    for (const w of others) {
      if (set.includes(w)) continue;
      let units = 0;
      for (const [v, need] of gaps) {
        const c = cover.levels.get(w)?.get(v);
        if (c) units += Math.min(need, rem.get(c.id)!);
      }
      if (units > bestUnits) [best, bestUnits] = [w, units];
    }
    set.push(best!); // the full set covers the demand, so some warehouse always adds units
  }
  return set;
}

/** Takes line `i`'s quantity from the levels of `set` (see the header); false when they lack it. */
function take(i: number, need: number, levels: Candidate[], rem: Map<string, number>, out: Allocation[]): boolean {
  const whole = levels.find((c) => rem.get(c.id)! >= need);
  const order = whole ? [whole] : [...levels].sort((a, b) => rem.get(b.id)! - rem.get(a.id)!);
  for (const c of order) {
    const q = Math.min(need, rem.get(c.id)!);
    if (q > 0) {
      out.push({ line: i, levelId: c.id, quantity: q });
      rem.set(c.id, rem.get(c.id)! - q);
      need -= q;
    }
    if (need === 0) return true;
  }
  return need === 0;
}

/** FEWEST_SPLITS (see the header); `remaining` is not changed. */
export function fewestSplits(
  lines: readonly ReserveLineInput[],
  pools: readonly Pool[],
  remaining: ReadonlyMap<string, number>,
): Allocation[] | null {
  if (pools.some((p) => p.error)) return null;
  const rem = new Map(remaining);
  const out: Allocation[] = [];
  const fixed: string[] = [];
  const unnamed: number[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!isNamed(lines[i])) {
      unnamed.push(i);
      continue;
    }
    const c = pools[i].pool![0];
    if (!take(i, lines[i].quantity, [c], rem, out)) return null;
    if (!fixed.includes(c.warehouse_id)) fixed.push(c.warehouse_id);
  }
  if (unnamed.length === 0) return out;
  const cover = coverOf(lines, pools, unnamed);
  const set = chooseSet(
    cover,
    fixed.filter((w) => cover.levels.has(w)),
    rem,
  );
  if (!set) return null;
  const inOrder = cover.order.filter((w) => set.includes(w));
  for (const i of unnamed) {
    const v = pools[i].pool![0].variant_id;
    const levels = inOrder.map((w) => cover.levels.get(w)!.get(v)).filter((c): c is Candidate => !!c);
    if (!take(i, lines[i].quantity, levels, rem, out)) return null;
  }
  return out.sort((a, b) => a.line - b.line);
}
