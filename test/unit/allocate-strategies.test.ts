/**
 * Allocation strategies and ship-to (src/modules/reservations/allocate.ts, allocate-splits.ts,
 * src/modules/catalog/ship-to.ts): pure, no database. Examples first, then seeded properties over
 * random carts (replay a failure with TEST_SEED).
 */
import { allocate, linePool, singleLevel, type Candidate } from '../../src/modules/reservations/allocate';
import { fewestSplits, SEARCH_BUDGET } from '../../src/modules/reservations/allocate-splits';
import type { AllocationStrategy, ReserveLineInput } from '../../src/modules/reservations/reservation.model';
import { isCountryCode, servesCountry, SHIPPING_ZONES } from '../../src/modules/catalog/ship-to';
import { ShippingZoneEnum } from '../../src/modules/catalog/catalog.types';
import { ErrorCode } from '../../src/graphql/errors';
import { withSeed } from '../helpers/rng';

const V = (n: number) => `00000000-0000-4000-8000-00000000000${n}`;
const W = (n: number) => `00000000-0000-4000-9000-0000000000${String(n).padStart(2, '0')}`;
const [V1, V2, V3] = [V(1), V(2), V(3)];

/** A candidate level `id` of variant `v` in warehouse `w` (code `c<w>`, priority w). */
function level(id: string, v: string, w: number, available: number, opts: Partial<Candidate> = {}): Candidate {
  return { id, variant_id: v, warehouse_id: W(w), code: `c${w}`, priority: w, read_only: false, active: true, available, ...opts };
}

const warehousesOf = (allocs: { levelId: string }[], cands: Candidate[]) =>
  new Set(allocs.map((a) => cands.find((c) => c.id === a.levelId)!.warehouse_id));

describe('ship-to declarations', () => {
  it('knows the 249 ISO 3166-1 alpha-2 codes, each one a region Intl can name', () => {
    const names = new Intl.DisplayNames(['en'], { type: 'region' });
    let n = 0;
    for (let a = 65; a <= 90; a++)
      for (let b = 65; b <= 90; b++) {
        const code = String.fromCharCode(a, b);
        if (!isCountryCode(code)) continue;
        n++;
        expect(names.of(code)).not.toBe(code);
      }
    expect(n).toBe(249);
    for (const bad of ['de', 'EU', 'UK', 'XX', 'ZZ', 'D', 'DEU', '']) expect(isCountryCode(bad)).toBe(false);
  });

  it('zones hold assigned countries, and the GraphQL enum has exactly the built-in zones', () => {
    for (const members of Object.values(SHIPPING_ZONES)) for (const c of members) expect(isCountryCode(c)).toBe(true);
    expect(SHIPPING_ZONES.EU).toHaveLength(27);
    expect(Object.values(ShippingZoneEnum).sort()).toEqual(Object.keys(SHIPPING_ZONES).sort());
  });

  it('a warehouse without a declaration serves everywhere; otherwise its countries and the members of its zones', () => {
    expect(servesCountry({ serves_countries: [], serves_zones: [] }, 'JP')).toBe(true);
    expect(servesCountry({}, 'JP')).toBe(true);
    const dach = { serves_countries: ['PL'], serves_zones: ['DACH'] };
    expect(['DE', 'AT', 'CH', 'PL'].map((c) => servesCountry(dach, c))).toEqual([true, true, true, true]);
    expect(servesCountry(dach, 'FR')).toBe(false);
    expect(servesCountry(dach, null)).toBe(true);
    expect(servesCountry({ serves_countries: [], serves_zones: ['EU'] }, 'CH')).toBe(false);
    expect(servesCountry({ serves_countries: [], serves_zones: ['EEA'] }, 'NO')).toBe(true);
  });
});

describe('linePool and singleLevel with shipTo', () => {
  const levels = [
    level('a', V1, 1, 5, { serves_countries: ['FR'] }),
    level('b', V1, 2, 5, { serves_zones: ['DACH'] }),
    level('c', V1, 3, 5),
  ];

  it('keeps only the warehouses that ship there (undeclared ones ship everywhere)', () => {
    expect(linePool({ quantity: 1 }, 0, levels, V1, 'DE').pool!.map((c) => c.id)).toEqual(['b', 'c']);
    expect(linePool({ quantity: 1 }, 0, levels, V1, 'FR').pool!.map((c) => c.id)).toEqual(['a', 'c']);
    expect(linePool({ quantity: 1 }, 0, levels, V1, null).pool!.map((c) => c.id)).toEqual(['a', 'b', 'c']);
  });

  it('SHIP_TO_NOT_SERVED for a named warehouse that does not ship there, and when no writable one does', () => {
    expect(linePool({ quantity: 1, warehouseCode: 'c1' }, 2, levels, V1, 'DE').error).toMatchObject({
      code: ErrorCode.SHIP_TO_NOT_SERVED,
      field: ['input', 'lines', '2', 'warehouseCode'],
    });
    const only = [level('a', V1, 1, 5, { serves_countries: ['FR'] }), level('r', V1, 2, 5, { read_only: true })];
    expect(linePool({ quantity: 1 }, 0, only, V1, 'DE').error?.code).toBe(ErrorCode.SHIP_TO_NOT_SERVED);
    expect(allocate([{ quantity: 1 }], [V1], only, { shipTo: 'DE' }).errors[0].code).toBe(ErrorCode.SHIP_TO_NOT_SERVED);
  });

  it('singleLevel counts only serving levels', () => {
    expect(singleLevel([{ quantity: 1 }], levels.slice(0, 2), [V1], 'AT')).toBe('b');
    expect(singleLevel([{ quantity: 1 }], levels.slice(0, 2), [V1], null)).toBeNull();
  });
});

describe('MOST_AVAILABLE', () => {
  it('each line takes first from the level with the most left, ties in priority order', () => {
    const cands = [level('a', V1, 1, 3), level('b', V1, 2, 8), level('c', V1, 3, 8)];
    expect(allocate([{ quantity: 5 }], [V1], cands, { strategy: 'MOST_AVAILABLE' }).allocations).toEqual([
      { line: 0, levelId: 'b', quantity: 5 },
    ]);
    // after line 0, c has the most (8 > 3, 3)
    expect(allocate([{ quantity: 5 }, { quantity: 10 }], [V1, V1], cands, { strategy: 'MOST_AVAILABLE' }).allocations).toEqual([
      { line: 0, levelId: 'b', quantity: 5 },
      { line: 1, levelId: 'c', quantity: 8 },
      { line: 1, levelId: 'a', quantity: 2 },
    ]);
  });
});

describe('FEWEST_SPLITS', () => {
  const FS = { strategy: 'FEWEST_SPLITS' as const };

  it('one warehouse that fills the whole cart wins over priority order, which would split', () => {
    const cands = [level('a1', V1, 1, 5), level('a2', V2, 1, 0), level('b1', V1, 2, 5), level('b2', V2, 2, 5)];
    const lines = [{ quantity: 2 }, { quantity: 3 }];
    expect(allocate(lines, [V1, V2], cands).allocations.map((a) => a.levelId)).toEqual(['a1', 'b2']);
    expect(allocate(lines, [V1, V2], cands, FS).allocations).toEqual([
      { line: 0, levelId: 'b1', quantity: 2 },
      { line: 1, levelId: 'b2', quantity: 3 },
    ]);
  });

  it('among warehouses that can each fill the cart, the first by priority', () => {
    const cands = [level('a', V1, 1, 9), level('b', V1, 2, 9)];
    expect(allocate([{ quantity: 4 }], [V1], cands, FS).allocations).toEqual([{ line: 0, levelId: 'a', quantity: 4 }]);
  });

  it('else the fewest warehouses: two big ones rather than three by priority', () => {
    const cands = [level('a', V1, 1, 2), level('b', V1, 2, 2), level('c', V1, 3, 6), level('d', V1, 4, 6)];
    const r = allocate([{ quantity: 10 }], [V1], cands, FS);
    expect(r.errors).toEqual([]);
    expect(warehousesOf(r.allocations, cands)).toEqual(new Set([W(3), W(4)]));
    expect(warehousesOf(allocate([{ quantity: 10 }], [V1], cands).allocations, cands).size).toBe(3);
  });

  it('a named line fixes its warehouse, which then serves the rest when it can', () => {
    const cands = [level('a1', V1, 1, 9), level('a2', V2, 1, 9), level('b1', V1, 2, 9), level('b2', V2, 2, 9)];
    const r = allocate([{ quantity: 1 }, { quantity: 1, warehouseCode: 'c2' }], [V1, V2], cands, FS);
    expect(r.allocations.map((a) => a.levelId)).toEqual(['b1', 'b2']);
  });

  it('reports a cart it cannot serve as PRIORITY does', () => {
    const cands = [level('a', V1, 1, 2), level('b', V1, 2, 2)];
    const lines = [{ quantity: 3 }, { quantity: 2 }];
    expect(allocate(lines, [V1, V1], cands, FS)).toEqual(allocate(lines, [V1, V1], cands));
    expect(allocate(lines, [V1, V1], cands, FS).errors[0].code).toBe(ErrorCode.INSUFFICIENT_STOCK);
  });

  it('beyond the search budget a greedy cover still serves the cart without over-allocating', () => {
    // 60 warehouses with 1 unit of each of 3 variants: choosing 3 of 60 is more than SEARCH_BUDGET sets.
    const cands: Candidate[] = [];
    for (let w = 1; w <= 60; w++) for (const v of [V1, V2, V3]) cands.push(level(`${w}-${v}`, v, w, 1));
    expect((60 * 59) / 2 + (60 * 59 * 58) / 6).toBeGreaterThan(SEARCH_BUDGET);
    const lines = [{ quantity: 3 }, { quantity: 3 }, { quantity: 3 }];
    const out = fewestSplits(
      lines,
      lines.map((_, i) => linePool(lines[i], i, cands, [V1, V2, V3][i])),
      new Map(cands.map((c) => [c.id, 1])),
    )!;
    expect(warehousesOf(out, cands).size).toBe(3);
    expect(out.reduce((s, a) => s + a.quantity, 0)).toBe(9);
  });
});

/** A random store: up to 6 warehouses, 3 variants, random stock, flags and ship-to declarations. */
function randomCase(rand: () => number) {
  const int = (n: number) => Math.floor(rand() * n);
  const countries = ['DE', 'FR', 'AT', 'US'];
  const nW = 1 + int(6);
  const cands: Candidate[] = [];
  for (let w = 1; w <= nW; w++) {
    const decl = rand() < 0.4 ? { serves_countries: countries.filter(() => rand() < 0.5), serves_zones: rand() < 0.3 ? ['DACH'] : [] } : {};
    const flags = { read_only: rand() < 0.1, active: rand() > 0.1, priority: int(3) };
    for (const v of [V1, V2, V3]) if (rand() < 0.8) cands.push(level(`w${w}${v.slice(-1)}`, v, w, int(12) - 2, { ...flags, ...decl }));
  }
  cands.sort((a, b) => a.priority - b.priority || a.code.localeCompare(b.code));
  const lineVariant: string[] = [];
  const lines: ReserveLineInput[] = [];
  for (let i = 0, n = 1 + int(4); i < n; i++) {
    lineVariant.push([V1, V2, V3][int(3)]);
    lines.push({ quantity: 1 + int(8), ...(rand() < 0.2 ? { warehouseCode: `c${1 + int(nW)}` } : {}) });
  }
  const shipTo = rand() < 0.5 ? countries[int(4)] : null;
  return { cands, lines, lineVariant, shipTo, nW };
}

/** The fewest warehouses that can serve a cart of unnamed lines, by brute force over every set. */
function minWarehouses(cands: Candidate[], lines: ReserveLineInput[], lineVariant: string[], shipTo: string | null): number | null {
  const ws = [...new Set(cands.map((c) => c.warehouse_id))];
  const usable = cands.filter((c) => c.active && !c.read_only && servesCountry(c, shipTo));
  let best: number | null = null;
  for (let mask = 0; mask < 1 << ws.length; mask++) {
    const set = ws.filter((_, i) => mask & (1 << i));
    const ok = [V1, V2, V3].every((v) => {
      const need = lines.reduce((s, l, i) => s + (lineVariant[i] === v ? l.quantity : 0), 0);
      const have = usable
        .filter((c) => c.variant_id === v && set.includes(c.warehouse_id))
        .reduce((s, c) => s + Math.max(0, c.available), 0);
      return have >= need;
    });
    if (ok && (best === null || set.length < best)) best = set.length;
  }
  return best;
}

describe('properties over random carts (seeded)', () => {
  const STRATEGIES: AllocationStrategy[] = ['PRIORITY', 'MOST_AVAILABLE', 'FEWEST_SPLITS'];

  it('every strategy: never over-allocates, serves each line exactly from its own pool, respects shipTo', () =>
    withSeed(async (rand) => {
      // Each broken rule, named with its case, compared once at the end (an expect per allocation took seconds).
      const broken: string[] = [];
      const check = (n: number, ok: boolean, rule: string) => {
        if (!ok) broken.push(`case ${n}: ${rule}`);
      };
      for (let n = 0; n < 2000; n++) {
        const { cands, lines, lineVariant, shipTo } = randomCase(rand);
        const strategy = STRATEGIES[n % 3];
        const { allocations, errors } = allocate(lines, lineVariant, cands, { strategy, shipTo });
        const perLevel = new Map<string, number>();
        for (const a of allocations) {
          const c = cands.find((x) => x.id === a.levelId)!;
          check(n, a.quantity > 0, `line ${a.line}: quantity ${a.quantity}`);
          check(n, c.variant_id === lineVariant[a.line], `line ${a.line}: another variant's level ${c.id}`);
          check(n, c.active && !c.read_only, `line ${a.line}: inactive or read-only level ${c.id}`);
          check(n, servesCountry(c, shipTo), `line ${a.line}: level ${c.id} does not ship to ${shipTo}`);
          const named = lines[a.line].warehouseCode;
          check(n, named == null || c.code === named, `line ${a.line}: warehouse ${c.code}, not the named ${named}`);
          perLevel.set(c.id, (perLevel.get(c.id) ?? 0) + a.quantity);
        }
        for (const [id, q] of perLevel) {
          const room = Math.max(0, cands.find((c) => c.id === id)!.available);
          check(n, q <= room, `level ${id}: ${q} allocated, ${room} available`);
        }
        if (errors.length === 0)
          lines.forEach((l, i) => {
            const got = allocations.filter((a) => a.line === i).reduce((s, a) => s + a.quantity, 0);
            check(n, got === l.quantity, `line ${i}: ${got} of ${l.quantity} allocated`);
          });
      }
      expect(broken).toEqual([]);
    }));

  it('FEWEST_SPLITS uses the fewest warehouses possible (so never splits when one suffices), and fails only when PRIORITY does', () =>
    withSeed(async (rand) => {
      let single = 0;
      for (let n = 0; n < 2000; n++) {
        const { cands, lines: raw, lineVariant, shipTo } = randomCase(rand);
        const lines = raw.map((l) => ({ quantity: l.quantity }));
        const fs = allocate(lines, lineVariant, cands, { strategy: 'FEWEST_SPLITS', shipTo });
        const pr = allocate(lines, lineVariant, cands, { shipTo });
        const min = minWarehouses(cands, lines, lineVariant, shipTo);
        if (fs.errors.length > 0) {
          expect(pr.errors.length).toBeGreaterThan(0);
          expect(min).toBeNull();
          continue;
        }
        expect(min).not.toBeNull();
        expect(warehousesOf(fs.allocations, cands).size).toBe(min);
        if (min === 1) single++;
      }
      expect(single).toBeGreaterThan(100);
    }));

  it('MOST_AVAILABLE: a successful single line starts with the level that had the most available', () =>
    withSeed(async (rand) => {
      for (let n = 0; n < 1000; n++) {
        const { cands, lines, lineVariant, shipTo } = randomCase(rand);
        const line = { quantity: lines[0].quantity };
        const r = allocate([line], [lineVariant[0]], cands, { strategy: 'MOST_AVAILABLE', shipTo });
        if (r.errors.length) continue;
        const pool = linePool(line, 0, cands, lineVariant[0], shipTo).pool!;
        const most = Math.max(...pool.map((c) => Math.max(0, c.available)));
        expect(Math.max(0, cands.find((c) => c.id === r.allocations[0].levelId)!.available)).toBe(most);
        if (most >= line.quantity) expect(r.allocations).toHaveLength(1);
      }
    }));

  it('with named lines, FEWEST_SPLITS stays in one warehouse whenever that one can serve the whole cart', () =>
    withSeed(async (rand) => {
      for (let n = 0; n < 2000; n++) {
        const { cands, lines, lineVariant, shipTo, nW } = randomCase(rand);
        const w = 1 + Math.floor(rand() * nW);
        const named = lines.map((l) => ({ quantity: l.quantity, ...(l.warehouseCode != null ? { warehouseCode: `c${w}` } : {}) }));
        const inW = cands.filter((c) => c.code === `c${w}`);
        const suffices = lineVariant.every((v) => {
          const c = inW.find((x) => x.variant_id === v);
          const need = named.reduce((s, l, i) => s + (lineVariant[i] === v ? l.quantity : 0), 0);
          return c && c.active && !c.read_only && servesCountry(c, shipTo) && Math.max(0, c.available) >= need;
        });
        if (!suffices) continue;
        const r = allocate(named, lineVariant, cands, { strategy: 'FEWEST_SPLITS', shipTo });
        expect(r.errors).toEqual([]);
        expect(warehousesOf(r.allocations, cands).size).toBe(1);
      }
    }));
});
