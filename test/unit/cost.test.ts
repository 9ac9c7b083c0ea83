import 'reflect-metadata';
import { Kind, parse, type FragmentDefinitionNode, type OperationDefinitionNode } from 'graphql';
import { getSchema } from '../../src/server/schema';
import { requestedCost } from '../../src/graphql/cost';

async function cost(doc: string, variables: Record<string, unknown> = {}): Promise<number> {
  const schema = await getSchema();
  const ast = parse(doc);
  const fragments: Record<string, FragmentDefinitionNode> = {};
  for (const d of ast.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments[d.name.value] = d;
  const op = ast.definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION) as OperationDefinitionNode;
  return requestedCost(schema, op, fragments, variables);
}

describe('requested cost (Shopify model)', () => {
  it('prices scalars at 0 and an object at 1', async () => {
    expect(await cost('{ __typename }')).toBe(0);
    expect(await cost('{ variant(sku: "A") { sku } }')).toBe(1);
  });

  it('prices a connection by its page size, from literals and variables', async () => {
    const literal = await cost('{ products(first: 10) { nodes { id } } }');
    const viaVar = await cost('query($n: Int) { products(first: $n) { nodes { id } } }', { n: 10 });
    expect(literal).toBe(viaVar);
    expect(await cost('{ products(first: 20) { nodes { id } } }')).toBeGreaterThan(literal);
  });

  it('adds 10 for a mutation', async () => {
    const q = await cost('mutation { inventoryAdjust(input: { sku: "A", warehouseCode: "W", delta: 1, reason: OTHER }) { userErrors { code } } }');
    expect(q).toBeGreaterThanOrEqual(10);
  });
});

test('first: 0 (page info only) costs the connection alone', async () => {
  expect(await cost('{ products(first: 0) { pageInfo { hasNextPage } nodes { id } } }')).toBe(2);
  expect(await cost('query($n: Int) { products(last: $n) { nodes { id } } }', { n: 0 })).toBe(2);
});
