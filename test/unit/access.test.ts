import 'reflect-metadata';
import { parse, type OperationDefinitionNode, Kind, GraphQLError, type GraphQLSchema } from 'graphql';
import { getSchema } from '../../src/server/schema';
import { assertAccessDeclared, canSeeType, checkFieldAccess } from '../../src/graphql/access';
import type { AuthInfo } from '../../src/graphql/scopes';

let schema: GraphQLSchema;
beforeAll(async () => {
  schema = await getSchema();
});

const key = (kind: 'pk' | 'sk', scopes: string[] = []): AuthInfo => ({ keyId: 'k', storeId: 's', kind, scopes, actor: 'key:x' });
const unauth = () => new GraphQLError('no key', { extensions: { code: 'UNAUTHENTICATED' } });

function check(doc: string, auth: AuthInfo | null, variables: Record<string, unknown> = {}): string | null {
  const d = parse(doc);
  const op = d.definitions.find((x) => x.kind === Kind.OPERATION_DEFINITION) as OperationDefinitionNode;
  try {
    checkFieldAccess(schema, d, op, auth, variables, unauth);
    return null;
  } catch (e) {
    return `${(e as GraphQLError).extensions.code}: ${(e as Error).message}`;
  }
}

describe('field access by type', () => {
  test('every object type and root field of the schema declares its access', () => {
    expect(() => assertAccessDeclared(schema)).not.toThrow();
  });

  test('a root field needs its scope; nested private fields need the read scope on every path', () => {
    const reserve = key('sk', ['inventory:reserve']);
    expect(check('query($id: ID!) { reservation(id: $id) { id status lines { quantity } } }', reserve)).toBeNull();
    expect(check('query($id: ID!) { reservation(id: $id) { lines { inventoryLevel { onHand } } } }', reserve)).toMatch(
      /FORBIDDEN: .*inventory:read.*InventoryLevel.onHand/,
    );
    expect(
      check(
        'query($id: ID!) { reservation(id: $id) { lines { inventoryLevel { warehouse { inventoryLevels(first: 250) { nodes { onHand } } } } } } }',
        reserve,
      ),
    ).toMatch(/FORBIDDEN/);
    expect(check('{ inventoryLevels(first: 1) { nodes { onHand } } }', reserve)).toMatch(/FORBIDDEN: .*inventory:read/);
    expect(check('{ inventoryLevels(first: 1) { nodes { onHand } } }', key('sk', ['inventory:read']))).toBeNull();
    expect(check('{ inventoryLevels(first: 1) { nodes { onHand } } }', null)).toMatch(/UNAUTHENTICATED/);
    expect(check('{ __typename }', null)).toBeNull();
  });

  test('a mutation payload returns the changed object; anything further needs the read scope', () => {
    const writer = key('sk', ['inventory:write']);
    const adjust = (sel: string) =>
      `mutation { inventoryAdjust(input: { sku: "A", warehouseCode: "W", delta: 1, reason: OTHER }) { ${sel} userErrors { code field message } } }`;
    expect(check(adjust('inventoryLevel { id onHand reserved available status }'), writer)).toBeNull();
    expect(check(adjust('inventoryLevel { warehouse { inventoryLevels(first: 250) { nodes { onHand } } } }'), writer)).toMatch(/FORBIDDEN/);
    expect(check(adjust('inventoryLevel { variant { sku } }'), writer)).toMatch(/FORBIDDEN: .*Variant.sku/);
    expect(check(adjust('inventoryLevel { variant { sku } }'), key('sk', ['inventory:write', 'inventory:read']))).toBeNull();
  });

  test('fragments and inline fragments are checked in place', () => {
    const pk = key('pk');
    expect(check('{ products(first: 1) { nodes { ...P } } } fragment P on Product { name totalAvailable }', pk)).toBeNull();
    expect(check('{ products(first: 1) { nodes { ...P } } } fragment P on Product { totalOnHand }', pk)).toMatch(
      /cannot read Product.totalOnHand/,
    );
    expect(check('query($id: ID!) { node(id: $id) { id ... on Variant { sku } } }', pk)).toBeNull();
    expect(check('query($id: ID!) { node(id: $id) { ... on Reservation { status } } }', pk)).toMatch(/cannot read Reservation.status/);
  });

  test('publishable keys sort and filter by public fields only', () => {
    const pk = key('pk');
    expect(check('{ products(first: 5, sortKey: TOTAL_AVAILABLE) { nodes { name } } }', pk)).toBeNull();
    expect(check('{ products(first: 5, sortKey: TOTAL_ON_HAND) { nodes { name } } }', pk)).toMatch(/cannot sort by TOTAL_ON_HAND/);
    expect(check('query($k: ProductSortKey!) { products(first: 5, sortKey: $k) { nodes { name } } }', pk, { k: 'UPDATED_AT' })).toMatch(
      /cannot sort by UPDATED_AT/,
    );
    expect(check('query($s: String) { variant(sku: $s) { inventoryLevels(sortKey: ON_HAND) { nodes { available } } } }', pk)).toMatch(
      /cannot sort by ON_HAND/,
    );
    expect(check('{ products(first: 5, filter: { updatedSince: "2020-01-01T00:00:00Z" }) { nodes { name } } }', pk)).toMatch(
      /cannot filter by ProductFilter.updatedSince/,
    );
    expect(check('{ products(first: 5, filter: { statuses: [LOW_STOCK] }) { nodes { name } } }', pk)).toBeNull();
    // Secret keys with the read scope may sort by anything.
    expect(check('{ products(first: 5, sortKey: TOTAL_ON_HAND) { nodes { name } } }', key('sk', ['inventory:read']))).toBeNull();
  });

  test('canSeeType: what node(id) may return to a key', () => {
    expect(canSeeType(schema, key('pk'), 'Variant')).toBe(true);
    expect(canSeeType(schema, key('pk'), 'Reservation')).toBe(false);
    expect(canSeeType(schema, key('pk'), 'StockMovement')).toBe(false);
    expect(canSeeType(schema, key('sk', ['inventory:reserve']), 'Reservation')).toBe(true);
    expect(canSeeType(schema, key('sk', ['inventory:reserve']), 'InventoryLevel')).toBe(false);
  });
});

/**
 * Every type with private fields, reached by every path a key can take: for each type T and each
 * key profile that lacks T's read scopes (a publishable key; a secret key with every other scope),
 * find the shortest path from a root field that key may use to T (breadth-first over the schema,
 * mutation payloads included), select a private field of T there, and expect FORBIDDEN naming it.
 */
describe('nested-path authorization for every type with private fields', () => {
  const { isObjectType, isInterfaceType, getNamedType, isCompositeType } = require('graphql') as typeof import('graphql');
  const { SCOPES, hasScope } = require('../../src/graphql/scopes') as typeof import('../../src/graphql/scopes');

  type Step = { type: string; field: string; args: string };
  const isPayload = (name: string) => !!(schema.getType(name)?.extensions as { access?: { payload?: true } } | undefined)?.access?.payload;
  function pathTo(target: string, auth: AuthInfo, op: 'query' | 'mutation'): Step[] | null {
    const root = op === 'query' ? schema.getQueryType()! : schema.getMutationType()!;
    // reach: where the mutation-payload rule stands (as in access.ts): payload → changed → normal.
    const queue: { type: string; path: Step[]; reach: 'payload' | 'changed' | 'normal' }[] = [];
    const seen = new Set<string>();
    for (const f of Object.values(root.getFields())) {
      const t = getNamedType(f.type);
      if (!isCompositeType(t)) continue;
      // Only roots this key may call (their own check is the root rule, tested above).
      if (check(`${op} { ${f.name}${argsOf(f)} { __typename } }`, auth)) continue;
      queue.push({
        type: t.name,
        path: [{ type: root.name, field: f.name, args: argsOf(f) }],
        reach: op === 'mutation' ? 'payload' : 'normal',
      });
    }
    while (queue.length) {
      const { type, path, reach } = queue.shift()!;
      // Under a mutation the payload's object is the changed object, readable by design: go past it.
      if (type === target && reach === 'normal') return path;
      if (seen.has(`${type}:${reach}`) || path.length > 6) continue;
      seen.add(`${type}:${reach}`);
      const t = schema.getType(type);
      if (!t || !(isObjectType(t) || isInterfaceType(t))) continue;
      for (const f of Object.values(t.getFields())) {
        const n = getNamedType(f.type);
        if (!isCompositeType(n)) continue;
        const next = reach === 'payload' ? (isPayload(n.name) ? 'payload' : 'changed') : 'normal';
        queue.push({ type: n.name, path: [...path, { type, field: f.name, args: argsOf(f) }], reach: next });
      }
    }
    return null;
  }
  let nextVar = 0; // unique variable names, deterministically (was a random suffix)
  function argsOf(f: { args: readonly { name: string; type: import('graphql').GraphQLInputType }[] }): string {
    const req = f.args.filter((a) => String(a.type).endsWith('!') && a.name !== 'sortKey');
    if (!req.length) return '';
    return `(${req.map((a) => `${a.name}: $${a.name}_${++nextVar}`).join(', ')})`;
  }
  function documentFor(path: Step[], leaf: string, op: 'query' | 'mutation'): string {
    const vars: string[] = [];
    let body = leaf;
    for (let i = path.length - 1; i >= 0; i--) {
      const s = path[i];
      const args = s.args.replace(/\$(\w+)/g, (m, v) => {
        const [name] = v.split('_');
        const parent = schema.getType(s.type) as import('graphql').GraphQLObjectType;
        const type = parent.getFields()[s.field].args.find((a) => a.name === name)!.type;
        vars.push(`$${v}: ${String(type)}`);
        return m;
      });
      const here = schema.getType(s.type);
      const target = i + 1 < path.length ? path[i + 1].type : null;
      const f = (here as import('graphql').GraphQLObjectType).getFields()[s.field];
      const named = getNamedType(f.type);
      const inner =
        target && named.name !== target && (isInterfaceType(named) || require('graphql').isUnionType(named))
          ? `... on ${target} { ${body} }`
          : body;
      body = `${s.field}${args} { ${inner} }`;
      void target;
    }
    return `${op}${vars.length ? `(${vars.join(', ')})` : ''} { ${body} }`;
  }

  test('is refused on every path a key can reach the type by', () => {
    const exercised: string[] = [];
    for (const t of Object.values(schema.getTypeMap())) {
      if (t.name.startsWith('__') || !isObjectType(t)) continue;
      const policy = (t.extensions as { access?: { read?: string[]; public?: string[] | true; payload?: true } }).access;
      if (!policy?.read || policy.public === true) continue;
      const privateField = Object.keys(t.getFields()).find(
        (f) => !(policy.public as string[] | undefined)?.includes(f) && !isCompositeType(getNamedType(t.getFields()[f].type)),
      );
      if (!privateField) continue;
      const profiles: AuthInfo[] = [
        key('pk'),
        key(
          'sk',
          SCOPES.filter((s) => s !== 'admin' && !policy.read!.includes(s)),
        ),
      ];
      for (const auth of profiles) {
        if (policy.read.some((s) => hasScope(auth, s))) continue;
        for (const op of ['query', 'mutation'] as const) {
          if (auth.kind === 'pk' && op === 'mutation') continue;
          const path = pathTo(t.name, auth, op);
          if (!path) continue;
          const doc = documentFor(path, privateField, op);
          const verdict = check(doc, auth);
          // Refused at the type's field, or earlier at a private field on the way (e.g. InventorySnapshot is
          // reached only through InventoryLevel.snapshot, itself private).
          const fields = [`${t.name}\\.${privateField}`, ...path.map((s) => `${s.type}\\.${s.field}`)].join('|');
          expect({ doc, verdict }).toEqual({
            doc,
            verdict: expect.stringMatching(new RegExp(`FORBIDDEN: .*(${fields})\\b|FORBIDDEN: .*requires`)),
          });
          exercised.push(`${auth.kind}:${op}:${t.name}`);
        }
      }
    }
    // The walk reached the stock types through nested paths, not only their own roots.
    expect(exercised).toEqual(
      expect.arrayContaining([
        'sk:query:InventoryLevel',
        'pk:query:InventoryLevel',
        'pk:query:Variant',
        'pk:query:Product',
        'pk:query:Warehouse',
        'sk:mutation:InventoryLevel',
      ]),
    );
    expect(exercised.length).toBeGreaterThanOrEqual(10);
  });
});
