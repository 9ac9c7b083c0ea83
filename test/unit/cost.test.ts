import 'reflect-metadata';
import { Kind, parse, type FragmentDefinitionNode, type OperationDefinitionNode } from 'graphql';
import { getSchema } from '../../src/server/schema';
import { actualCost, requestedCost } from '../../src/graphql/cost';

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
    const q = await cost(
      'mutation { inventoryAdjust(input: { sku: "A", warehouseCode: "W", delta: 1, reason: OTHER }) { userErrors { code } } }',
    );
    expect(q).toBeGreaterThanOrEqual(10);
  });
});

test('first: 0 (page info only) costs the connection alone', async () => {
  expect(await cost('{ products(first: 0) { pageInfo { hasNextPage } nodes { id } } }')).toBe(2);
  expect(await cost('query($n: Int) { products(last: $n) { nodes { id } } }', { n: 0 })).toBe(2);
});

describe('requested cost: exact figures', () => {
  it('a connection is 2 + page size × one node (a node with scalars only is 1)', async () => {
    expect(await cost('{ products(first: 10) { nodes { id name } } }')).toBe(2 + 10 * 1);
    expect(await cost('{ products(last: 3) { nodes { id } } }')).toBe(2 + 3 * 1);
  });

  it('nested connections multiply; a nested object adds 1 per node', async () => {
    // products: 2 + 10 × (node 1 + variants (2 + 5 × (variant 1 + product 1)))
    expect(await cost('{ products(first: 10) { nodes { id variants(first: 5) { nodes { sku product { id } } } } } }')).toBe(
      2 + 10 * (1 + 2 + 5 * 2),
    );
  });

  it('edges and pageInfo cost nothing of their own: an edge costs its node', async () => {
    expect(await cost('{ products(first: 3) { edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }')).toBe(2 + 3 * 1);
  });

  it('without first or last the default page size is charged, as are invalid or negative sizes', async () => {
    const per = await cost('{ products(first: 1) { nodes { id } } }');
    expect(per).toBe(3);
    expect(await cost('{ products { nodes { id } } }')).toBe(2 + 50);
    expect(await cost('query($n: Int) { products(first: $n) { nodes { id } } }', { n: -5 })).toBe(2 + 50);
    expect(await cost('query($n: Int) { products(first: $n) { nodes { id } } }', { n: 'ten' })).toBe(2 + 50);
  });

  it('named and inline fragments cost what their fields cost', async () => {
    const plain = await cost('{ products(first: 4) { nodes { id variants(first: 2) { nodes { sku } } } } }');
    expect(await cost('{ products(first: 4) { nodes { ...P } } } fragment P on Product { id variants(first: 2) { nodes { sku } } }')).toBe(
      plain,
    );
    expect(await cost('{ products(first: 4) { nodes { ... on Product { id variants(first: 2) { nodes { sku } } } } } }')).toBe(plain);
  });

  it('aliases are charged each', async () => {
    expect(await cost('{ a: products(first: 2) { nodes { id } } b: products(first: 2) { nodes { id } } }')).toBe(2 * (2 + 2));
  });
});

describe('actual cost (what was returned)', () => {
  async function actual(doc: string, data: unknown): Promise<number> {
    const schema = await getSchema();
    const ast = parse(doc);
    const fragments: Record<string, FragmentDefinitionNode> = {};
    for (const d of ast.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments[d.name.value] = d;
    const op = ast.definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION) as OperationDefinitionNode;
    return actualCost(schema, op, fragments, data);
  }

  it('a connection counts its real nodes, not the page size asked for', async () => {
    const doc = '{ products(first: 10) { nodes { id } } }';
    expect(await actual(doc, { products: { nodes: [{ id: '1' }, { id: '2' }, { id: '3' }] } })).toBe(2 + 3);
    expect(await actual(doc, { products: { nodes: [] } })).toBe(2);
    expect(await cost(doc)).toBe(2 + 10); // requested ≥ actual
  });

  it('edges count their nodes; nested connections count what each returned', async () => {
    const doc = '{ products(first: 5) { edges { node { id variants(first: 5) { nodes { sku } } } } } }';
    const data = {
      products: {
        edges: [{ node: { id: '1', variants: { nodes: [{ sku: 'a' }, { sku: 'b' }] } } }, { node: { id: '2', variants: { nodes: [] } } }],
      },
    };
    expect(await actual(doc, data)).toBe(2 + (1 + 2 + 2) + (1 + 2));
  });

  it('null data or a null field costs nothing; a mutation adds 10', async () => {
    expect(await actual('{ variant(sku: "A") { sku } }', null)).toBe(0);
    expect(await actual('{ variant(sku: "A") { sku } }', { variant: null })).toBe(0);
    expect(await actual('{ variant(sku: "A") { sku } }', { variant: { sku: 'A' } })).toBe(1);
    const m = 'mutation { inventoryAdjust(input: { sku: "A", warehouseCode: "W", delta: 1, reason: OTHER }) { userErrors { code } } }';
    // 10 + the payload (1) + its userErrors list (1: a plain list is charged like one object, even empty).
    expect(await actual(m, { inventoryAdjust: { userErrors: [] } })).toBe(10 + 1 + 1);
    expect(await cost(m)).toBe(10 + 1 + 1);
  });

  it('a plain list of objects is charged like one object (its most expensive item)', async () => {
    const doc = '{ variant(sku: "A") { options { name value } } }';
    expect(
      await actual(doc, {
        variant: {
          options: [
            { name: 'Size', value: 'L' },
            { name: 'Colour', value: 'Red' },
          ],
        },
      }),
    ).toBe(1 + 1);
    expect(await cost(doc)).toBe(1 + 1);
  });
});
