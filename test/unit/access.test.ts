import 'reflect-metadata';
import { parse, type OperationDefinitionNode, Kind, GraphQLError, type GraphQLSchema } from 'graphql';
import { getSchema } from '../../src/graphql/schema';
import { assertAccessDeclared, canSeeType, checkFieldAccess } from '../../src/graphql/access';
import type { AuthInfo } from '../../src/modules/auth/scopes';

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
    expect(check('query($id: ID!) { reservation(id: $id) { lines { inventoryLevel { onHand } } } }', reserve)).toMatch(/FORBIDDEN: .*inventory:read.*InventoryLevel.onHand/);
    expect(
      check('query($id: ID!) { reservation(id: $id) { lines { inventoryLevel { warehouse { inventoryLevels(first: 250) { nodes { onHand } } } } } } }', reserve),
    ).toMatch(/FORBIDDEN/);
    expect(check('{ inventoryLevels(first: 1) { nodes { onHand } } }', reserve)).toMatch(/FORBIDDEN: .*inventory:read/);
    expect(check('{ inventoryLevels(first: 1) { nodes { onHand } } }', key('sk', ['inventory:read']))).toBeNull();
    expect(check('{ inventoryLevels(first: 1) { nodes { onHand } } }', null)).toMatch(/UNAUTHENTICATED/);
    expect(check('{ __typename }', null)).toBeNull();
  });

  test('a mutation payload returns the changed object; anything further needs the read scope', () => {
    const writer = key('sk', ['inventory:write']);
    const adjust = (sel: string) => `mutation { inventoryAdjust(input: { sku: "A", warehouseCode: "W", delta: 1, reason: OTHER }) { ${sel} userErrors { code field message } } }`;
    expect(check(adjust('inventoryLevel { id onHand reserved available status }'), writer)).toBeNull();
    expect(check(adjust('inventoryLevel { warehouse { inventoryLevels(first: 250) { nodes { onHand } } } }'), writer)).toMatch(/FORBIDDEN/);
    expect(check(adjust('inventoryLevel { variant { sku } }'), writer)).toMatch(/FORBIDDEN: .*Variant.sku/);
    expect(check(adjust('inventoryLevel { variant { sku } }'), key('sk', ['inventory:write', 'inventory:read']))).toBeNull();
  });

  test('fragments and inline fragments are checked in place', () => {
    const pk = key('pk');
    expect(check('{ products(first: 1) { nodes { ...P } } } fragment P on Product { name totalAvailable }', pk)).toBeNull();
    expect(check('{ products(first: 1) { nodes { ...P } } } fragment P on Product { totalOnHand }', pk)).toMatch(/cannot read Product.totalOnHand/);
    expect(check('query($id: ID!) { node(id: $id) { id ... on Variant { sku } } }', pk)).toBeNull();
    expect(check('query($id: ID!) { node(id: $id) { ... on Reservation { status } } }', pk)).toMatch(/cannot read Reservation.status/);
  });

  test('publishable keys sort and filter by public fields only', () => {
    const pk = key('pk');
    expect(check('{ products(first: 5, sortKey: TOTAL_AVAILABLE) { nodes { name } } }', pk)).toBeNull();
    expect(check('{ products(first: 5, sortKey: TOTAL_ON_HAND) { nodes { name } } }', pk)).toMatch(/cannot sort by TOTAL_ON_HAND/);
    expect(check('query($k: ProductSortKey!) { products(first: 5, sortKey: $k) { nodes { name } } }', pk, { k: 'UPDATED_AT' })).toMatch(/cannot sort by UPDATED_AT/);
    expect(check('query($s: String) { variant(sku: $s) { inventoryLevels(sortKey: ON_HAND) { nodes { available } } } }', pk)).toMatch(/cannot sort by ON_HAND/);
    expect(check('{ products(first: 5, filter: { updatedSince: "2020-01-01T00:00:00Z" }) { nodes { name } } }', pk)).toMatch(/cannot filter by ProductFilter.updatedSince/);
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
