import fs from 'node:fs';
import path from 'node:path';
import { MODEL_FIELDS, columnOf, columnsOf, rowOf } from '../../src/db/columns';

/** Every scalar field of every model in prisma/schema.prisma with its column (@map, else its name). */
function schemaColumns(): { model: string; field: string; column: string }[] {
  const schema = fs.readFileSync(path.join(__dirname, '..', '..', 'prisma', 'schema.prisma'), 'utf8');
  const out: { model: string; field: string; column: string }[] = [];
  for (const m of schema.matchAll(/^model (\w+) \{([\s\S]*?)^\}/gm)) {
    for (const line of m[2].split('\n')) {
      const f = /^\s+(\w+)\s+(\w+)(\[\])?\??\s*(.*)$/.exec(line);
      if (!f || f[1].startsWith('@@')) continue;
      // Relation fields name another model; their columns are the scalar foreign keys.
      if (
        /^[A-Z]/.test(f[2]) &&
        !['String', 'Int', 'BigInt', 'Boolean', 'DateTime', 'Decimal', 'Json', 'Float', 'Bytes'].includes(f[2]) &&
        !/^(WarehouseType|MovementReason|ReservationStatus|WebhookDeliveryStatus|InventoryPolicy)$/.test(f[2])
      )
        continue;
      const map = /@map\("([^"]+)"\)/.exec(f[4]);
      out.push({ model: m[1], field: f[1], column: map ? map[1] : f[1] });
    }
  }
  return out;
}

describe('columns from the generated client', () => {
  it('every field of prisma/schema.prisma is stored in its snake_case column (the rule columnOf applies)', () => {
    const cols = schemaColumns();
    expect(cols.length).toBeGreaterThan(100);
    const wrong = cols.filter((c) => columnOf(c.field) !== c.column);
    expect(wrong).toEqual([]);
  });

  it('lists the scalar fields of the models read with raw SQL, id first', () => {
    const cols = schemaColumns();
    for (const [kind, model] of [
      ['product', 'Product'],
      ['variant', 'Variant'],
      ['warehouse', 'Warehouse'],
      ['stockMovement', 'StockMovement'],
      ['reservation', 'Reservation'],
    ] as const) {
      expect([...MODEL_FIELDS[kind]]).toEqual(cols.filter((c) => c.model === model).map((c) => c.field));
      expect(MODEL_FIELDS[kind][0]).toBe('id');
    }
  });

  it('selects with a prefix and reads the prefixed row back (null when the join found none)', () => {
    expect(columnsOf('product', 'p', 'x$')).toContain('p.store_id AS "x$storeId"');
    expect(columnsOf('variant', 'v')).toContain('v.is_default AS "isDefault"');
    expect(columnsOf('reservation', 'r', '', { status: 'r.eff_status' })).toContain('r.eff_status AS "status"');
    const row = { x$id: 'a', x$storeId: 's', x$externalId: null, x$name: 'N', x$active: true, x$createdAt: 1, x$updatedAt: 2, other: 3 };
    expect(rowOf('product', row, 'x$')).toEqual({
      id: 'a',
      storeId: 's',
      externalId: null,
      name: 'N',
      active: true,
      createdAt: 1,
      updatedAt: 2,
    });
    expect(rowOf('product', { x$id: null }, 'x$')).toBeNull();
  });
});
