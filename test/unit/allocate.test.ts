/** Allocation of reservation lines to levels (src/modules/reservations/allocate.ts): pure, no database. */
import { allocate, linePool, perLevel, singleLevel, type Candidate } from '../../src/modules/reservations/allocate';
import { ErrorCode } from '../../src/graphql/errors';
import { toGlobalId } from '../../src/graphql/ids';

const V1 = '00000000-0000-4000-8000-000000000001';
const V2 = '00000000-0000-4000-8000-000000000002';
const W = (n: number) => `00000000-0000-4000-9000-00000000000${n}`;

/** A candidate level of variant `v` in warehouse `w` (code `c<w>`). */
function level(id: string, v: string, w: number, available: number, opts: Partial<Candidate> = {}): Candidate {
  return { id, variant_id: v, warehouse_id: W(w), code: `c${w}`, priority: w, read_only: false, active: true, available, ...opts };
}

describe('linePool', () => {
  const levels = [
    level('a', V1, 1, 5),
    level('b', V1, 2, 5, { read_only: true }),
    level('c', V1, 3, 5, { active: false }),
    level('d', V2, 1, 5),
  ];

  it('without a warehouse: every active, writable level of the variant, in the given order', () => {
    expect(linePool({ quantity: 1 }, 0, levels, V1).pool!.map((c) => c.id)).toEqual(['a']);
    expect(linePool({ quantity: 1 }, 0, levels, V2).pool!.map((c) => c.id)).toEqual(['d']);
  });

  it('a named warehouse by code or by global id: only its level, or the reason it cannot serve', () => {
    expect(linePool({ quantity: 1, warehouseCode: 'c1' }, 0, levels, V1).pool!.map((c) => c.id)).toEqual(['a']);
    expect(linePool({ quantity: 1, warehouseId: toGlobalId('Warehouse', W(1)) }, 0, levels, V1).pool!.map((c) => c.id)).toEqual(['a']);
    expect(linePool({ quantity: 1, warehouseCode: 'c2' }, 3, levels, V1).error).toMatchObject({
      code: ErrorCode.READONLY_WAREHOUSE,
      field: ['input', 'lines', '3', 'warehouseCode'],
    });
    expect(linePool({ quantity: 1, warehouseCode: 'c3' }, 0, levels, V1).error?.code).toBe(ErrorCode.INACTIVE_WAREHOUSE);
    expect(linePool({ quantity: 1, warehouseCode: 'c9' }, 0, levels, V1).error?.code).toBe(ErrorCode.INVENTORY_NOT_FOUND);
    expect(linePool({ quantity: 1, warehouseId: toGlobalId('Warehouse', W(9)) }, 1, levels, V1).error?.field).toEqual([
      'input',
      'lines',
      '1',
      'warehouseId',
    ]);
  });
});

describe('singleLevel', () => {
  it('is the level when every line can only be served by that one level', () => {
    const levels = [level('a', V1, 1, 5), level('b', V1, 2, 5)];
    expect(
      singleLevel(
        [
          { quantity: 1, warehouseCode: 'c1' },
          { quantity: 2, warehouseCode: 'c1' },
        ],
        levels,
        [V1, V1],
      ),
    ).toBe('a');
    expect(singleLevel([{ quantity: 1 }], [level('a', V1, 1, 5)], [V1])).toBe('a');
  });

  it('is null when a line has a choice, lines need different levels, or a line cannot be served', () => {
    const levels = [level('a', V1, 1, 5), level('b', V1, 2, 5), level('d', V2, 1, 5)];
    expect(singleLevel([{ quantity: 1 }], levels, [V1])).toBeNull();
    expect(
      singleLevel(
        [
          { quantity: 1, warehouseCode: 'c1' },
          { quantity: 1, warehouseCode: 'c2' },
        ],
        levels,
        [V1, V1],
      ),
    ).toBeNull();
    expect(singleLevel([{ quantity: 1, warehouseCode: 'c1' }, { quantity: 1 }], levels, [V1, V2])).toBeNull();
    expect(singleLevel([{ quantity: 1, warehouseCode: 'c9' }], levels, [V1])).toBeNull();
  });
});

describe('allocate (PRIORITY)', () => {
  it('takes from levels in the given order, splitting a line across warehouses', () => {
    const { allocations, errors } = allocate([{ quantity: 7 }], [V1], [level('a', V1, 1, 5), level('b', V1, 2, 5)]);
    expect(errors).toEqual([]);
    expect(allocations).toEqual([
      { line: 0, levelId: 'a', quantity: 5 },
      { line: 0, levelId: 'b', quantity: 2 },
    ]);
  });

  it('skips empty and negative levels, and read-only or inactive ones', () => {
    const cands = [
      level('a', V1, 1, 0),
      level('n', V1, 2, -3),
      level('r', V1, 3, 9, { read_only: true }),
      level('i', V1, 4, 9, { active: false }),
      level('b', V1, 5, 4),
    ];
    expect(allocate([{ quantity: 4 }], [V1], cands)).toEqual({ allocations: [{ line: 0, levelId: 'b', quantity: 4 }], errors: [] });
  });

  it('what an earlier line took is not available to a later one', () => {
    const cands = [level('a', V1, 1, 5)];
    const { allocations, errors } = allocate([{ quantity: 3 }, { quantity: 3 }], [V1, V1], cands);
    expect(allocations).toEqual([{ line: 0, levelId: 'a', quantity: 3 }]);
    expect(errors).toEqual([
      { code: ErrorCode.INSUFFICIENT_STOCK, message: 'Line 1: requested 3, only 2 available', field: ['input', 'lines', '1', 'quantity'] },
    ]);
  });

  it('a line that cannot be served in full takes nothing; each line of each variant is judged on its own pool', () => {
    const cands = [level('a', V1, 1, 2), level('d', V2, 1, 10)];
    const { allocations, errors } = allocate([{ quantity: 5 }, { quantity: 6 }], [V1, V2], cands);
    expect(allocations).toEqual([{ line: 1, levelId: 'd', quantity: 6 }]);
    expect(errors.map((e) => e.message)).toEqual(['Line 0: requested 5, only 2 available']);
  });

  it('a named warehouse limits the line to that level and reports its errors', () => {
    const cands = [level('a', V1, 1, 5), level('b', V1, 2, 5, { read_only: true })];
    expect(allocate([{ quantity: 6, warehouseCode: 'c1' }], [V1], cands).errors[0].message).toBe('Line 0: requested 6, only 5 available');
    expect(allocate([{ quantity: 1, warehouseCode: 'c2' }], [V1], cands).errors[0].code).toBe(ErrorCode.READONLY_WAREHOUSE);
  });

  it('perLevel sums the allocations per level in ascending level id (the lock order)', () => {
    expect(
      perLevel([
        { line: 0, levelId: 'b', quantity: 2 },
        { line: 1, levelId: 'a', quantity: 1 },
        { line: 2, levelId: 'b', quantity: 3 },
      ]),
    ).toEqual([
      ['a', 1],
      ['b', 5],
    ]);
  });
});
