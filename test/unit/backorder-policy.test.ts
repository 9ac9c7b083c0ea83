/** Backorder and preorder policy arithmetic (src/modules/stock/policy.ts) and allocation with backorders: pure, no database. */
import { allocate, type Candidate } from '../../src/modules/reservations/allocate';
import { withSeed } from '../helpers/rng';
import {
  backorderAllowance,
  backorderedOf,
  effectivePolicy,
  isSellable,
  policyErrors,
  UNBOUNDED_ALLOWANCE,
  uncoveredOf,
} from '../../src/modules/stock';

describe('backorderAllowance', () => {
  it('DENY: 0 whatever the limit and incoming', () => {
    expect(backorderAllowance('DENY', null, 10)).toBe(0);
    expect(backorderAllowance('DENY', 5, 10)).toBe(0);
  });
  it('CONTINUE: the limit, or unbounded', () => {
    expect(backorderAllowance('CONTINUE', 5, 0)).toBe(5);
    expect(backorderAllowance('CONTINUE', 0, 9)).toBe(0);
    expect(backorderAllowance('CONTINUE', null, 0)).toBe(UNBOUNDED_ALLOWANCE);
  });
  it('PREORDER: incoming, capped by the limit', () => {
    expect(backorderAllowance('PREORDER', null, 7)).toBe(7);
    expect(backorderAllowance('PREORDER', 3, 7)).toBe(3);
    expect(backorderAllowance('PREORDER', 9, 7)).toBe(7);
    expect(backorderAllowance('PREORDER', null, 0)).toBe(0);
  });
});

describe('effectivePolicy, isSellable, backorderedOf', () => {
  it("a level's override wins with its own limit; otherwise the variant's", () => {
    const v = { inventoryPolicy: 'CONTINUE' as const, backorderLimit: 4 };
    expect(effectivePolicy({ inventoryPolicy: null, backorderLimit: null }, v)).toEqual({ policy: 'CONTINUE', limit: 4 });
    expect(effectivePolicy({ inventoryPolicy: 'PREORDER', backorderLimit: null }, v)).toEqual({ policy: 'PREORDER', limit: null });
    expect(effectivePolicy({ inventoryPolicy: 'DENY', backorderLimit: null }, v)).toEqual({ policy: 'DENY', limit: null });
  });
  it('sellable while available is above −allowance', () => {
    expect(isSellable(1, 0, 0, 0)).toBe(true);
    expect(isSellable(1, 1, 0, 0)).toBe(false);
    expect(isSellable(1, 3, 0, 3)).toBe(true);
    expect(isSellable(1, 4, 0, 3)).toBe(false);
    expect(isSellable(-2, 0, 1, 3)).toBe(false);
  });
  it('backordered counts the units below zero available', () => {
    expect(backorderedOf(5, 2, 1)).toBe(0);
    expect(backorderedOf(2, 6, 0)).toBe(4);
    expect(backorderedOf(-3, 0, 0)).toBe(3);
  });
});

describe('uncoveredOf (the PREORDER edge)', () => {
  it('0 while reserved fits in onHand + allowance; the excess beyond it otherwise; safety stock does not count', () => {
    // 5 preorders against incoming 5: covered; incoming down to 2: 3 uncovered; 2 received: 1.
    expect(uncoveredOf(0, 5, backorderAllowance('PREORDER', null, 5))).toBe(0);
    expect(uncoveredOf(0, 5, backorderAllowance('PREORDER', null, 2))).toBe(3);
    expect(uncoveredOf(2, 5, backorderAllowance('PREORDER', null, 0))).toBe(3 - 0 - 0);
    expect(uncoveredOf(4, 3, 0)).toBe(0);
    // A limit below incoming is the allowance: lowering incoming to the limit uncovers nothing.
    expect(uncoveredOf(0, 2, backorderAllowance('PREORDER', 2, 3))).toBe(0);
    expect(uncoveredOf(0, 2, backorderAllowance('PREORDER', 2, 1))).toBe(1);
    expect(uncoveredOf(-3, 0, UNBOUNDED_ALLOWANCE)).toBe(0);
  });
  it('a level with uncovered units is never sellable', () =>
    withSeed(async (rand) => {
      for (let i = 0; i < 500; i++) {
        const [onHand, reserved, allowance] = [Math.floor(rand() * 20) - 5, Math.floor(rand() * 20), Math.floor(rand() * 10)];
        if (uncoveredOf(onHand, reserved, allowance) > 0) expect(isSellable(onHand, reserved, 0, allowance)).toBe(false);
      }
    }));
});

describe('policyErrors', () => {
  const codes = (p: Parameters<typeof policyErrors>[0], l: number | null) => policyErrors(p, l, ['input']).map((e) => e.code);
  it('a limit is a whole number ≥ 0 given with CONTINUE or PREORDER', () => {
    expect(codes('CONTINUE', 3)).toEqual([]);
    expect(codes('PREORDER', 0)).toEqual([]);
    expect(codes('CONTINUE', null)).toEqual([]);
    expect(codes(null, null)).toEqual([]);
    expect(codes('CONTINUE', -1)).toEqual(['NEGATIVE_QUANTITY']);
    expect(codes('CONTINUE', 1.5)).toEqual(['INVALID_INPUT']);
    expect(codes('CONTINUE', 2 ** 31)).toEqual(['QUANTITY_OUT_OF_RANGE']);
    expect(codes(null, 3)).toEqual(['INVALID_INPUT']);
    expect(codes('DENY', 3)).toEqual(['INVALID_INPUT']);
  });
});

describe('allocate with backorders', () => {
  const V = '00000000-0000-4000-8000-000000000001';
  const level = (id: string, w: number, available: number, backorder = 0): Candidate => ({
    id,
    variant_id: V,
    warehouse_id: `00000000-0000-4000-9000-00000000000${w}`,
    code: `c${w}`,
    priority: w,
    read_only: false,
    active: true,
    available,
    backorder,
  });

  it('takes stock in every warehouse before backordering, and backorders in priority order', () => {
    const r = allocate([{ quantity: 6 }], [V], [level('a', 1, 1, 10), level('b', 2, 2, 10)]);
    expect(r.errors).toEqual([]);
    expect(r.allocations).toEqual([
      { line: 0, levelId: 'a', quantity: 4 },
      { line: 0, levelId: 'b', quantity: 2 },
    ]);
  });

  it('refuses beyond stock plus backorder room, naming what is left; earlier lines use up the room', () => {
    const r = allocate([{ quantity: 3 }, { quantity: 2 }], [V, V], [level('a', 1, 1, 3)]);
    expect(r.allocations).toEqual([{ line: 0, levelId: 'a', quantity: 3 }]);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toMatchObject({ code: 'INSUFFICIENT_STOCK', message: 'Line 1: requested 2, only 1 available' });
  });

  it('without backorder room it is PRIORITY allocation as before', () => {
    const r = allocate([{ quantity: 2 }], [V], [level('a', 1, 1), level('b', 2, 5)]);
    expect(r.allocations).toEqual([
      { line: 0, levelId: 'a', quantity: 1 },
      { line: 0, levelId: 'b', quantity: 1 },
    ]);
  });
});

describe('allocation strategies with backorders', () => {
  const V1 = '00000000-0000-4000-8000-000000000001';
  const V2 = '00000000-0000-4000-8000-000000000002';
  const W = (w: number) => `00000000-0000-4000-9000-00000000000${w}`;
  /** Level `id` of variant `v` in warehouse `w` (priority w), with `available` and backorder room. */
  const lv = (id: string, v: string, w: number, available: number, backorder = 0): Candidate => ({
    id,
    variant_id: v,
    warehouse_id: W(w),
    code: `c${w}`,
    priority: w,
    read_only: false,
    active: true,
    available,
    backorder,
  });
  /** Units allocated beyond each level's stock on hand. */
  const backordered = (allocs: { levelId: string; quantity: number }[], cands: Candidate[]) => {
    const per = new Map<string, number>();
    for (const a of allocs) per.set(a.levelId, (per.get(a.levelId) ?? 0) + a.quantity);
    return [...per].reduce((s, [id, q]) => s + Math.max(0, q - Math.max(0, cands.find((c) => c.id === id)!.available)), 0);
  };

  it('MOST_AVAILABLE takes every stock first (most available first), then backorders at the least backordered level', () => {
    // c comes first by priority but is already 2 below zero; PRIORITY would backorder there.
    const cands = [lv('c', V1, 1, -2, 5), lv('a', V1, 2, 1, 2), lv('b', V1, 3, 3, 10)];
    const r = allocate([{ quantity: 8 }], [V1], cands, { strategy: 'MOST_AVAILABLE' });
    expect(r.errors).toEqual([]);
    expect(r.allocations).toEqual([
      { line: 0, levelId: 'b', quantity: 5 },
      { line: 0, levelId: 'a', quantity: 3 },
    ]);
    const p = allocate([{ quantity: 8 }], [V1], cands, { strategy: 'PRIORITY' });
    expect(p.allocations).toEqual([
      { line: 0, levelId: 'a', quantity: 1 },
      { line: 0, levelId: 'b', quantity: 3 },
      { line: 0, levelId: 'c', quantity: 4 },
    ]);
  });

  it('MOST_AVAILABLE: what an earlier line backordered counts for the next line; refusal names stock plus room', () => {
    const cands = [lv('a', V1, 1, 2, 10), lv('b', V1, 2, 2, 10)];
    const r = allocate([{ quantity: 5 }, { quantity: 1 }], [V1, V1], cands, { strategy: 'MOST_AVAILABLE' });
    expect(r.errors).toEqual([]);
    expect(r.allocations).toEqual([
      { line: 0, levelId: 'a', quantity: 3 },
      { line: 0, levelId: 'b', quantity: 2 },
      { line: 1, levelId: 'b', quantity: 1 },
    ]);
    const refused = allocate([{ quantity: 6 }], [V1], [lv('a', V1, 1, 1, 2), lv('b', V1, 2, 0, 2)], { strategy: 'MOST_AVAILABLE' });
    expect(refused.allocations).toEqual([]);
    expect(refused.errors[0]).toMatchObject({ code: 'INSUFFICIENT_STOCK', message: 'Line 0: requested 6, only 5 available' });
  });

  it('FEWEST_SPLITS prefers a warehouse that fills the cart from stock over one that would backorder', () => {
    // Warehouse 1 comes first and could fill the cart with backorders; warehouse 2 has the stock.
    const cands = [lv('a1', V1, 1, 1, 100), lv('a2', V2, 1, 5, 100), lv('b1', V1, 2, 3), lv('b2', V2, 2, 3)];
    const r = allocate([{ quantity: 3 }, { quantity: 2 }], [V1, V2], cands, { strategy: 'FEWEST_SPLITS' });
    expect(r.errors).toEqual([]);
    expect(r.allocations).toEqual([
      { line: 0, levelId: 'b1', quantity: 3 },
      { line: 1, levelId: 'b2', quantity: 2 },
    ]);
    expect(backordered(r.allocations, cands)).toBe(0);
  });

  it('FEWEST_SPLITS splits over stock rather than backorder in one warehouse', () => {
    const cands = [lv('a', V1, 1, 2, 100), lv('b', V1, 2, 2)];
    const r = allocate([{ quantity: 4 }], [V1], cands, { strategy: 'FEWEST_SPLITS' });
    expect(r.allocations).toEqual([
      { line: 0, levelId: 'a', quantity: 2 },
      { line: 0, levelId: 'b', quantity: 2 },
    ]);
    expect(backordered(r.allocations, cands)).toBe(0);
  });

  it('FEWEST_SPLITS backorders only when no stock suffices, then as PRIORITY: every stock first, backorders by priority', () => {
    const cands = [lv('a', V1, 1, 2, 5), lv('b', V1, 2, 1, 5)];
    const r = allocate([{ quantity: 5 }], [V1], cands, { strategy: 'FEWEST_SPLITS' });
    expect(r.errors).toEqual([]);
    expect(r).toEqual(allocate([{ quantity: 5 }], [V1], cands, { strategy: 'PRIORITY' }));
    expect(r.allocations).toEqual([
      { line: 0, levelId: 'a', quantity: 4 },
      { line: 0, levelId: 'b', quantity: 1 },
    ]);
    const refused = allocate([{ quantity: 14 }], [V1], cands, { strategy: 'FEWEST_SPLITS' });
    expect(refused.errors[0]).toMatchObject({ code: 'INSUFFICIENT_STOCK', message: 'Line 0: requested 14, only 13 available' });
  });

  it('every strategy: backorders exactly what the stock of the pool cannot serve, never past a level’s room (seeded)', () =>
    withSeed(async (rand) => {
      const int = (n: number) => Math.floor(rand() * n);
      for (let n = 0; n < 1500; n++) {
        const cands = [1, 2, 3].map((w) => lv(`l${w}`, V1, w, int(7) - 2, int(3) === 0 ? 0 : int(6)));
        const quantity = 1 + int(14);
        const strategy = (['PRIORITY', 'MOST_AVAILABLE', 'FEWEST_SPLITS'] as const)[n % 3];
        const { allocations, errors } = allocate([{ quantity }], [V1], cands, { strategy });
        const stock = cands.reduce((s, c) => s + Math.max(0, c.available), 0);
        const room = cands.reduce((s, c) => s + c.backorder!, 0);
        if (quantity > stock + room) {
          expect(errors.map((e) => e.code)).toEqual(['INSUFFICIENT_STOCK']);
          continue;
        }
        expect(errors).toEqual([]);
        expect(allocations.reduce((s, a) => s + a.quantity, 0)).toBe(quantity);
        expect(backordered(allocations, cands)).toBe(Math.max(0, quantity - stock));
        for (const a of allocations) {
          const c = cands.find((x) => x.id === a.levelId)!;
          expect(a.quantity).toBeLessThanOrEqual(Math.max(0, c.available) + c.backorder!);
        }
      }
    }));
});
