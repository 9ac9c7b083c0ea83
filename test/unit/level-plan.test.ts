import { LEVEL_SORTS, levelQuery, levelWhere, type LevelFilter, type LevelSource } from '../../src/modules/inventory/level.reads';

/** The level columns each source has (LEVELS_OWN_FROM ⊂ LEVELS_RAW_FROM ⊂ LEVELS_FROM, corrected). */
const OWN = [
  'id',
  'store_id',
  'variant_id',
  'warehouse_id',
  'on_hand',
  'incoming',
  'safety_stock',
  'low_stock_threshold',
  'critical_threshold',
  'version',
  'updated_at',
];
const COLUMNS: Record<LevelSource, string[]> = {
  own: OWN,
  variant: [...OWN, 'sku', 'product_id'],
  corrected: [...OWN, 'sku', 'product_id', 'reserved', 'available', 'status', 'sellable'],
};
const SOURCES: LevelSource[] = ['own', 'variant', 'corrected'];

/** The narrowest source with every `lv.<column>` the SQL reads. */
function narrowest(sql: string[]): LevelSource {
  const cols = sql.flatMap((s) => [...s.matchAll(/\blv\.(\w+)/g)].map((m) => m[1]));
  return SOURCES.find((src) => cols.every((c) => COLUMNS[src].includes(c)))!;
}

const FILTERS: Record<keyof LevelFilter, LevelFilter> = {
  warehouseIds: { warehouseIds: ['w'] },
  variantIds: { variantIds: ['v'] },
  productIds: { productIds: ['p'] },
  skus: { skus: ['s'] },
  statuses: { statuses: ['LOW_STOCK'] },
  lowStockOnly: { lowStockOnly: true },
  updatedSince: { updatedSince: new Date(0) },
  sellable: { sellable: true },
};

describe('level pages declare the source they read (no SQL text is inspected at run time)', () => {
  it.each(Object.keys(LEVEL_SORTS))('sort %s declares exactly the source its expression needs', (key) => {
    const sort = LEVEL_SORTS[key as keyof typeof LEVEL_SORTS];
    expect(sort.needs).toBe(narrowest([sort.expr]));
  });

  it.each(Object.keys(FILTERS))('filter %s declares exactly the source its condition needs', (key) => {
    const w = levelWhere('store', FILTERS[key as keyof LevelFilter]);
    expect(w.where).toHaveLength(1);
    expect(w.needs).toBe(narrowest(w.where));
  });

  it('a page needs the wider of its filter and sort sources', () => {
    expect(levelQuery('s', {}, 'UPDATED_AT').needs).toBe('own');
    expect(levelQuery('s', { updatedSince: new Date(0), warehouseIds: ['w'] }, 'ON_HAND').needs).toBe('own');
    expect(levelQuery('s', { skus: ['a'] }, 'UPDATED_AT').needs).toBe('variant');
    expect(levelQuery('s', {}, 'SKU').needs).toBe('variant');
    expect(levelQuery('s', { productIds: ['p'] }, 'AVAILABLE').needs).toBe('corrected');
    expect(levelQuery('s', { lowStockOnly: true }, 'SKU').needs).toBe('corrected');
  });

  it('parameters stay numbered in order when a condition has none', () => {
    const w = levelWhere('store', { lowStockOnly: true, updatedSince: new Date(0) });
    expect(w.params).toHaveLength(2);
    expect(w.where).toEqual([`lv.status <> 'IN_STOCK'`, 'lv.updated_at >= $2::timestamptz']);
  });
});
