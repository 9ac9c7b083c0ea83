/**
 * No statement of src/ joins rows of two stores (docs/SCALING.md, "Distributed PostgreSQL"): on a
 * database sharded by store_id, a join between store tables on an id alone would pair rows across
 * shards. A static check over the SQL text of src/:
 *
 * - rule A: every `JOIN <store table> <alias> ON …` has store_id in its ON condition;
 * - rule B: every `FROM` / `UPDATE` of a store table whose (sub)query compares another alias's id
 *   column (`x.id`, `x.level_id`, `${l}.id`: a correlated subquery, an `UPDATE … FROM`, a join
 *   written in WHERE) also constrains its own alias's store_id there.
 *
 * Store tables are read from prisma/schema.prisma (every model with a store_id column), minus the
 * reference tables of docs/SCALING.md: a table added later is covered without editing this test.
 * The last test runs the check over statements of the kind it must refuse.
 */
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(__dirname, '..', '..');

function storeTables(): string[] {
  const schema = fs.readFileSync(path.join(root, 'prisma', 'schema.prisma'), 'utf8');
  const doc = fs.readFileSync(path.join(root, 'docs', 'SCALING.md'), 'utf8');
  const reference = new Set([...doc.matchAll(/create_reference_table\(\s*'(\w+)'\s*\)/g)].map((m) => m[1]));
  const out: string[] = [];
  for (const m of schema.matchAll(/^model \w+ \{\n([\s\S]*?)^\}/gm)) {
    const table = /@@map\("(\w+)"\)/.exec(m[1])?.[1];
    if (table && /@map\("store_id"\)/.test(m[1]) && !reference.has(table)) out.push(table);
  }
  return out;
}

const KEYWORDS = 'WHERE|ON|JOIN|SET|LEFT|RIGHT|INNER|FULL|CROSS|ORDER|GROUP|LIMIT|USING|RETURNING|FOR|AS|WITH|HAVING|UNION|SELECT';

/** The text after `from` up to the end of its (sub)query: the closing parenthesis or the end of the template. */
function scopeAfter(s: string, from: number): string {
  let depth = 0;
  let j = from;
  for (; j < s.length; j++) {
    const c = s[j];
    if (c === '(') depth++;
    else if (c === ')' && --depth < 0) break;
    else if (c === '`') break;
  }
  return s.slice(from, j);
}

/** Breaches of rules A and B in one source text, as `<line>: <what>`. */
export function crossStoreJoins(source: string, tables: string[]): string[] {
  const out: string[] = [];
  const re = new RegExp(
    `\\b(JOIN|FROM|UPDATE)\\s+"?(${tables.join('|')})"?(?:\\s+(?:AS\\s+)?(?!(?:${KEYWORDS})\\b)([a-z_][a-z0-9_]*))?`,
    'gi',
  );
  for (const m of source.matchAll(re)) {
    const [, kw, table, alias] = m;
    const self = alias ?? table;
    const scope = scopeAfter(source, m.index + m[0].length);
    const line = source.slice(0, m.index).split('\n').length;
    if (kw.toUpperCase() === 'JOIN') {
      const on = /^\s*ON\s+([\s\S]*?)(?=\b(?:LEFT\s+|RIGHT\s+|INNER\s+|FULL\s+|CROSS\s+)?JOIN\b|\bWHERE\b|\bGROUP\b|\bORDER\b|$)/i.exec(
        scope,
      );
      if (!on || !/\bstore_id\b/.test(on[1])) out.push(`${line}: JOIN ${table} ${self} without store_id in its ON condition`);
      continue;
    }
    const others = [...scope.matchAll(/(?:\b([a-z_][a-z0-9_]*)|\$\{[^}]*\})\.([a-z_]*id)\b/g)].filter((x) => x[1] !== self);
    const ownStore = alias ? new RegExp(`\\b${alias}\\.store_id\\b`).test(scope) : /\bstore_id\b/.test(scope);
    if (others.length && !ownStore)
      out.push(`${line}: ${kw.toUpperCase()} ${table} ${self} is matched on ${others[0][0]} without ${self}.store_id`);
  }
  return out;
}

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'generated' ? [] : sources(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

test('the store tables come from the schema', () => {
  const tables = storeTables();
  for (const t of ['products', 'variants', 'warehouses', 'inventory_levels', 'stock_movements', 'reservation_lines', 'webhook_deliveries'])
    expect(tables).toContain(t);
  // Reference tables (docs/SCALING.md) are not store tables here.
  expect(tables).not.toContain('api_keys');
});

test('no statement in src/ joins store tables without matching store_id', () => {
  const tables = storeTables();
  const found: string[] = [];
  for (const f of sources(path.join(root, 'src'))) {
    for (const p of crossStoreJoins(fs.readFileSync(f, 'utf8'), tables)) found.push(`${path.relative(root, f)}:${p}`);
  }
  expect(found).toEqual([]);
});

test('the check refuses joins and correlations on ids alone, and accepts them with store_id', () => {
  const tables = ['inventory_levels', 'variants', 'reservation_lines'];
  const bad = [
    'SELECT * FROM inventory_levels l JOIN variants v ON v.id = l.variant_id WHERE l.store_id = $1',
    'SELECT * FROM inventory_levels l WHERE l.store_id = $1 AND EXISTS (SELECT 1 FROM reservation_lines rl WHERE rl.inventory_level_id = l.id)',
    'UPDATE inventory_levels l SET version = 1 FROM fin WHERE l.id = fin.id',
    '(SELECT sum(rl.quantity) FROM reservation_lines rl WHERE rl.inventory_level_id = ${l}.id)',
  ];
  const good = [
    'SELECT * FROM inventory_levels l JOIN variants v ON v.id = l.variant_id AND v.store_id = l.store_id WHERE l.store_id = $1',
    'SELECT * FROM inventory_levels l WHERE l.store_id = $1 AND EXISTS (SELECT 1 FROM reservation_lines rl WHERE rl.store_id = l.store_id AND rl.inventory_level_id = l.id)',
    'UPDATE inventory_levels l SET version = 1 FROM fin WHERE l.id = fin.id AND l.store_id = fin.store_id',
    'SELECT id FROM variants WHERE store_id = $1 AND id = ANY($2::uuid[])',
  ];
  for (const s of bad) expect([s, crossStoreJoins(`\`${s}\``, tables).length]).toEqual([s, 1]);
  for (const s of good) expect([s, crossStoreJoins(`\`${s}\``, tables)]).toEqual([s, []]);
});
