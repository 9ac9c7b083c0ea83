/** Backorder and preorder policy arithmetic (src/modules/stock/policy.ts) and allocation with backorders: pure, no database. */
import { allocate, type Candidate } from '../../src/modules/reservations/allocate';
import { backorderAllowance, backorderedOf, effectivePolicy, isSellable, policyErrors, UNBOUNDED_ALLOWANCE } from '../../src/modules/stock';

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
