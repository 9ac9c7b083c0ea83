/**
 * Client compatibility: Apollo Client 4, urql (+ graphcache), graphql-request and relay-runtime,
 * each with its default transport, against a live gateway: forward and backward walks with the
 * client's own pagination helper, a mutation updating the normalized cache, a subscription over
 * graphql-ws, and a storefront query with a publishable key. docs/CLIENT.md's recipes are these.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import WebSocket from 'ws';
import { createClient as createWsClient } from 'graphql-ws';
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache, gql } from '@apollo/client';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { relayStylePagination, getMainDefinition } from '@apollo/client/utilities';
import { createClient as createUrqlClient, fetchExchange, subscriptionExchange, gql as urqlGql } from '@urql/core';
import { cacheExchange as graphcache } from '@urql/exchange-graphcache';
import { relayPagination } from '@urql/exchange-graphcache/extras';
import { firstValueFrom, filter as rxFilter } from 'rxjs';
import {
  commitMutation,
  Environment,
  fetchQuery,
  getSelector,
  Network,
  Observable,
  RecordSource,
  requestSubscription,
  Store,
  createOperationDescriptor,
  type GraphQLResponse,
} from 'relay-runtime';
import RelayChangedSubscription from '../clients/relay/__generated__/RelayChangedSubscription.graphql';
import RelayProductQuery from '../clients/relay/__generated__/RelayProductQuery.graphql';
import RelayProductRefetchQuery from '../clients/relay/__generated__/RelayProductRefetchQuery.graphql';
import RelayProductsPaginationQuery from '../clients/relay/__generated__/RelayProductsPaginationQuery.graphql';
import RelayProductsQuery from '../clients/relay/__generated__/RelayProductsQuery.graphql';
import RelayProductFragment from '../clients/relay/__generated__/RelayProduct_product.graphql';
import RelayProductsFragment from '../clients/relay/__generated__/RelayProducts_query.graphql';
import RelayRenameMutation from '../clients/relay/__generated__/RelayRenameMutation.graphql';
import { createProduct, createWarehouse, setStock } from '../helpers/factories';
import { ok } from '../helpers/gql';
import { startTestServer, type TestServer } from '../helpers/server';

// graphql-request's types are ESM-only; its package also ships a CommonJS build, which Jest loads.

const { GraphQLClient, gql: gqlRequest } = require('graphql-request') as typeof import('graphql-request', {
  with: { 'resolution-mode': 'import' },
});

/** The first complete result of an Apollo ObservableQuery. */
const loaded = (q: { pipe: any }) => firstValueFrom<any>(q.pipe(rxFilter((r: any) => !r.loading)));

jest.setTimeout(120_000);

let t: TestServer;
let wsUrl: string;
let pk: string;
/** The test's products in name order (what `products(filter: { search: TAG })` returns). */
const names: string[] = [];
const TAG = 'clientcompat';
let product: { id: string; sku: string };
let warehouseCode: string;

beforeAll(async () => {
  t = await startTestServer();
  wsUrl = t.url.replace(/^http/, 'ws');
  pk = await t.store.publishableKey();
  warehouseCode = (await createWarehouse(t.gql, { code: 'CC-1' })).code;
  for (let i = 0; i < 7; i++) {
    const sku = `CC-SKU-${i}`;
    await createProduct(t.gql, { skus: [sku], externalId: `${TAG}-${i}` });
    await setStock(t.gql, sku, warehouseCode, 10 + i);
  }
  // Renamed and restocked by the mutation and subscription tests: outside the TAG search.
  const other = await createProduct(t.gql, { skus: ['CC-OTHER'] });
  await setStock(t.gql, 'CC-OTHER', warehouseCode, 5);
  product = { id: other.id, sku: 'CC-OTHER' };
  const all = await ok(t.gql(`{ products(first: 50, filter: { search: "${TAG}" }) { nodes { name } } }`));
  names.push(...all.products.nodes.map((n: { name: string }) => n.name));
  expect(names.length).toBe(7);
});
afterAll(async () => {
  await t?.stop();
});

/** Polls `f` until it returns a value, failing after the deadline. */
async function until<T>(f: () => T | undefined | null | false, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = f();
    if (v) return v;
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('Apollo Client 4', () => {
  const PRODUCTS = gql`
    query Products($first: Int, $after: String, $last: Int, $before: String, $filter: ProductFilter) {
      products(first: $first, after: $after, last: $last, before: $before, filter: $filter) {
        edges {
          cursor
          node {
            id
            name
            totalAvailable
          }
        }
        pageInfo {
          hasNextPage
          hasPreviousPage
          startCursor
          endCursor
        }
      }
    }
  `;

  function apollo(key: string) {
    const http = new HttpLink({ uri: t.url, headers: { authorization: `Bearer ${key}` } });
    const ws = new GraphQLWsLink(
      createWsClient({ url: wsUrl, connectionParams: { Authorization: `Bearer ${key}` }, webSocketImpl: WebSocket }),
    );
    const link = ApolloLink.split(
      ({ query }) => {
        const d = getMainDefinition(query);
        return d.kind === 'OperationDefinition' && d.operation === 'subscription';
      },
      ws,
      http,
    );
    const cache = new InMemoryCache({
      typePolicies: {
        // Pages of one filter merge into one list; the page arguments are left out of the key.
        Query: { fields: { products: relayStylePagination(['filter', 'sortKey', 'reverse']) } },
      },
    });
    return new ApolloClient({ link, cache });
  }

  test('forward and backward walks with relayStylePagination and fetchMore', async () => {
    const client = apollo(t.store.adminKey);
    try {
      const filter = { search: TAG };
      const q = client.watchQuery<any>({ query: PRODUCTS, variables: { first: 3, filter } });
      const sub = q.subscribe(() => undefined);
      let r = await loaded(q);
      expect(r.data!.products.edges.map((e: any) => e.node.name)).toEqual(names.slice(0, 3));
      while (r.data!.products.pageInfo.hasNextPage) {
        const before = r.data!.products.edges.length;
        await q.fetchMore({ variables: { after: r.data!.products.pageInfo.endCursor } });
        // The watched query sees the merged list once the cache has broadcast it.
        r = await until(() => (q.getCurrentResult().data?.products.edges.length > before ? q.getCurrentResult() : null));
      }
      // The merged list holds every page, in order, and the page info of the ends.
      expect(r.data!.products.edges.map((e: any) => e.node.name)).toEqual(names);
      expect(r.data!.products.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: false });
      sub.unsubscribe();

      // Backward: last/before pages are prepended.
      const filter2 = { search: TAG, active: true };
      const b = client.watchQuery<any>({ query: PRODUCTS, variables: { last: 3, filter: filter2 } });
      const sub2 = b.subscribe(() => undefined);
      let rb = await loaded(b);
      expect(rb.data!.products.edges.map((e: any) => e.node.name)).toEqual(names.slice(-3));
      while (rb.data!.products.pageInfo.hasPreviousPage) {
        const before = rb.data!.products.edges.length;
        await b.fetchMore({ variables: { before: rb.data!.products.pageInfo.startCursor } });
        rb = await until(() => (b.getCurrentResult().data?.products.edges.length > before ? b.getCurrentResult() : null));
      }
      expect(rb.data!.products.edges.map((e: any) => e.node.name)).toEqual(names);
      sub2.unsubscribe();
    } finally {
      client.stop();
    }
  });

  test('relayStylePagination merges only edges: a nodes-only selection keeps just the last page', async () => {
    const client = apollo(t.store.adminKey);
    try {
      const NODES = gql`
        query ProductNodes($first: Int, $after: String, $filter: ProductFilter) {
          products(first: $first, after: $after, filter: $filter) {
            nodes {
              id
              name
            }
            pageInfo {
              hasNextPage
              endCursor
            }
          }
        }
      `;
      const q = client.watchQuery<any>({ query: NODES, variables: { first: 3, filter: { search: TAG } } });
      const sub = q.subscribe(() => undefined);
      const r = await loaded(q);
      const end = r.data!.products.pageInfo.endCursor;
      await q.fetchMore({ variables: { after: end } });
      // Once the second page is merged (pageInfo moves on), `nodes` is whatever the last write left.
      const merged = await until(() =>
        q.getCurrentResult().data?.products.pageInfo.endCursor !== end ? q.getCurrentResult().data.products : null,
      );
      expect(merged.nodes.map((n: any) => n.name)).toEqual(names.slice(3, 6)); // the first page is gone
      sub.unsubscribe();
    } finally {
      client.stop();
    }
  });

  test('a mutation updates the normalized cache; a subscription delivers events', async () => {
    const client = apollo(t.store.adminKey);
    try {
      const PRODUCT = gql`
        query Product($id: ID!) {
          product(id: $id) {
            id
            name
          }
        }
      `;
      await client.query<any>({ query: PRODUCT, variables: { id: product.id } });
      await client.mutate({
        mutation: gql`
          mutation Rename($id: ID!, $name: String!) {
            productUpdate(id: $id, input: { name: $name }) {
              product {
                id
                name
              }
              userErrors {
                code
              }
            }
          }
        `,
        variables: { id: product.id, name: 'Renamed by Apollo' },
      });
      // Read from the cache only: the mutation's result updated the Product:<id> entry.
      const cached = client.readQuery({ query: PRODUCT, variables: { id: product.id } }) as any;
      expect(cached.product.name).toBe('Renamed by Apollo');

      const events: any[] = [];
      const sub = client
        .subscribe({
          query: gql`
            subscription Changed($after: String, $filter: InventoryEventFilter) {
              inventoryChanged(after: $after, filter: $filter) {
                cursor
                after {
                  onHand
                }
              }
            }
          `,
          variables: { after: '0', filter: { skus: [product.sku] } },
        })
        .subscribe({ next: (e) => events.push(e.data) });
      await setStock(t.gql, product.sku, warehouseCode, 77);
      await until(() => events.some((e) => e.inventoryChanged.after.onHand === 77));
      sub.unsubscribe();
    } finally {
      client.stop();
    }
  });

  test('a storefront query with a publishable key', async () => {
    const client = apollo(pk);
    try {
      const r = await client.query<any>({ query: PRODUCTS, variables: { first: 2, filter: { search: TAG } } });
      expect(r.data!.products.edges.map((e: any) => e.node.name)).toEqual(names.slice(0, 2));
      expect(r.data!.products.edges[0].node.totalAvailable).toBeGreaterThan(0);
    } finally {
      client.stop();
    }
  });
});

describe('urql (@urql/core 6) with graphcache', () => {
  const PRODUCTS = urqlGql`
    query Products($first: Int, $after: String, $last: Int, $before: String, $filter: ProductFilter) {
      products(first: $first, after: $after, last: $last, before: $before, filter: $filter) {
        edges { cursor node { id name totalAvailable } }
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      }
    }
  `;

  function urql(key: string, fetches: { method: string }[] = []) {
    const ws = createWsClient({ url: wsUrl, connectionParams: { Authorization: `Bearer ${key}` }, webSocketImpl: WebSocket });
    const client = createUrqlClient({
      url: t.url,
      // Queries go as GET while the URL is short enough (urql's default, preferGetMethod: 'within-url-limit').
      fetchOptions: { headers: { authorization: `Bearer ${key}` } },
      fetch: (async (input: string | URL | Request, init?: RequestInit) => {
        fetches.push({ method: init?.method ?? 'GET' });
        return fetch(input, init);
      }) as typeof fetch,
      exchanges: [
        graphcache({
          // Connections, edges and page info have no id: they are embedded in their parent.
          keys: { ProductConnection: () => null, ProductEdge: () => null, PageInfo: () => null },
          resolvers: { Query: { products: relayPagination() } },
        }),
        fetchExchange,
        subscriptionExchange({
          forwardSubscription: (request) => ({
            subscribe: (sink) => ({ unsubscribe: ws.subscribe({ ...request, query: request.query ?? '' }, sink) }),
          }),
        }),
      ],
    });
    return { client, dispose: () => ws.dispose() };
  }

  test('forward and backward walks with relayPagination, over GET', async () => {
    const fetches: { method: string }[] = [];
    const { client, dispose } = urql(t.store.adminKey, fetches);
    try {
      const filter = { search: TAG };
      let r = await client.query(PRODUCTS, { first: 3, filter }).toPromise();
      expect(r.error).toBeUndefined();
      while (r.data.products.pageInfo.hasNextPage) {
        r = await client.query(PRODUCTS, { first: 3, after: r.data.products.pageInfo.endCursor, filter }).toPromise();
        expect(r.error).toBeUndefined();
      }
      // relayPagination returns every page queried so far for these arguments, in order.
      expect(r.data.products.edges.map((e: any) => e.node.name)).toEqual(names);

      const filter2 = { search: TAG, active: true };
      let b = await client.query(PRODUCTS, { last: 3, filter: filter2 }).toPromise();
      while (b.data.products.pageInfo.hasPreviousPage) {
        b = await client.query(PRODUCTS, { last: 3, before: b.data.products.pageInfo.startCursor, filter: filter2 }).toPromise();
        expect(b.error).toBeUndefined();
      }
      expect(b.data.products.edges.map((e: any) => e.node.name)).toEqual(names);
      expect(fetches.length).toBeGreaterThanOrEqual(6);
      expect(fetches.every((f) => f.method === 'GET')).toBe(true);
    } finally {
      await dispose();
    }
  });

  test('a mutation updates the normalized cache; a subscription delivers events', async () => {
    const { client, dispose } = urql(t.store.adminKey);
    try {
      const PRODUCT = urqlGql`query Product($id: ID!) { product(id: $id) { id name } }`;
      expect((await client.query(PRODUCT, { id: product.id }).toPromise()).error).toBeUndefined();
      const m = await client
        .mutation(
          urqlGql`mutation Rename($id: ID!, $name: String!) { productUpdate(id: $id, input: { name: $name }) { product { id name } userErrors { code } } }`,
          {
            id: product.id,
            name: 'Renamed by urql',
          },
        )
        .toPromise();
      expect(m.error).toBeUndefined();
      const cached = await client.query(PRODUCT, { id: product.id }, { requestPolicy: 'cache-only' }).toPromise();
      expect(cached.data.product.name).toBe('Renamed by urql');

      const events: any[] = [];
      const { unsubscribe } = client
        .subscription(
          urqlGql`subscription Changed($after: String, $filter: InventoryEventFilter) { inventoryChanged(after: $after, filter: $filter) { cursor after { onHand } } }`,
          {
            after: '0',
            filter: { skus: [product.sku] },
          },
        )
        .subscribe((r) => r.data && events.push(r.data));
      await setStock(t.gql, product.sku, warehouseCode, 66);
      await until(() => events.some((e) => e.inventoryChanged.after.onHand === 66));
      unsubscribe();
    } finally {
      await dispose();
    }
  });

  test('a storefront query with a publishable key (GET)', async () => {
    const fetches: { method: string }[] = [];
    const { client, dispose } = urql(pk, fetches);
    try {
      const r = await client.query(PRODUCTS, { first: 2, filter: { search: TAG } }).toPromise();
      expect(r.error).toBeUndefined();
      expect(r.data.products.edges.map((e: any) => e.node.name)).toEqual(names.slice(0, 2));
      expect(fetches).toEqual([{ method: 'GET' }]);
    } finally {
      await dispose();
    }
  });
});

describe('graphql-request 7', () => {
  const PRODUCTS = gqlRequest`
    query Products($first: Int, $after: String, $last: Int, $before: String, $filter: ProductFilter) {
      products(first: $first, after: $after, last: $last, before: $before, filter: $filter) {
        nodes { id name }
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      }
    }
  `;

  test.each([
    ['POST (default)', undefined],
    ['GET', 'GET' as const],
  ])('forward and backward walks, a mutation, errors: %s', async (_label, method) => {
    const client = new GraphQLClient(t.url, { headers: { authorization: `Bearer ${t.store.adminKey}` }, ...(method ? { method } : {}) });
    const filter = { search: TAG };
    const fwd: string[] = [];
    let after: string | null = null;
    for (;;) {
      const d: any = await client.request(PRODUCTS, { first: 3, after, filter });
      fwd.push(...d.products.nodes.map((n: any) => n.name));
      if (!d.products.pageInfo.hasNextPage) break;
      after = d.products.pageInfo.endCursor;
    }
    expect(fwd).toEqual(names);
    const back: string[] = [];
    let before: string | null = null;
    for (;;) {
      const d: any = await client.request(PRODUCTS, { last: 3, before, filter });
      back.unshift(...d.products.nodes.map((n: any) => n.name));
      if (!d.products.pageInfo.hasPreviousPage) break;
      before = d.products.pageInfo.startCursor;
    }
    expect(back).toEqual(names);
    // A bad cursor is a ClientError carrying the GraphQL error.
    await expect(client.request(PRODUCTS, { first: 1, after: 'nope' })).rejects.toMatchObject({
      response: { errors: [{ extensions: { code: 'BAD_USER_INPUT', argument: 'after' } }] },
    });
    if (!method) {
      const m: any = await client.request(
        gqlRequest`mutation Rename($id: ID!, $name: String!) { productUpdate(id: $id, input: { name: $name }) { product { name } userErrors { code } } }`,
        {
          id: product.id,
          name: 'Renamed by graphql-request',
        },
      );
      expect(m.productUpdate).toEqual({ product: { name: 'Renamed by graphql-request' }, userErrors: [] });
    }
  });

  test('a storefront query with a publishable key', async () => {
    const client = new GraphQLClient(t.url, { headers: { authorization: `Bearer ${pk}` }, method: 'GET' });
    const d: any = await client.request(PRODUCTS, { first: 2, filter: { search: TAG } });
    expect(d.products.nodes.map((n: any) => n.name)).toEqual(names.slice(0, 2));
  });
});

describe('Relay (relay-runtime 21, artifacts from relay-compiler)', () => {
  /** The network layer of Relay's docs: POST JSON; subscriptions over graphql-ws. */
  function relay(key: string) {
    const ws = createWsClient({ url: wsUrl, connectionParams: { Authorization: `Bearer ${key}` }, webSocketImpl: WebSocket });
    const network = Network.create(
      async (params, variables) => {
        const res = await fetch(t.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
          body: JSON.stringify({ query: params.text, variables }),
        });
        return (await res.json()) as GraphQLResponse;
      },
      (params, variables) =>
        Observable.create<GraphQLResponse>((sink) =>
          ws.subscribe({ operationName: params.name, query: params.text!, variables }, sink as never),
        ),
    );
    const environment = new Environment({ network, store: new Store(new RecordSource()) });
    return { environment, dispose: () => ws.dispose() };
  }

  /** What usePaginationFragment renders: the @connection's merged edges and page info. */
  function connectionOf(environment: Environment, variables: Record<string, unknown>) {
    const operation = createOperationDescriptor(RelayProductsQuery, variables);
    const root = environment.lookup(operation.fragment).data as Record<string, unknown>;
    const selector = getSelector(RelayProductsFragment, root);
    const data = environment.lookup(selector as never).data as any;
    return data.products as {
      edges: { node: { name: string } }[];
      pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string; endCursor: string };
    };
  }

  test('the committed artifacts are those relay-compiler makes from the operations and schema.graphql (npm run relay:compile)', () => {
    const r = spawnSync(path.join(__dirname, '../../node_modules/.bin/relay-compiler'), ['--validate'], {
      cwd: path.join(__dirname, '../clients/relay'),
      encoding: 'utf8',
    });
    expect({ status: r.status, out: r.status === 0 ? '' : r.stdout + r.stderr }).toEqual({ status: 0, out: '' });
  });

  test('forward and backward walks: the refetchable pagination query merges pages into the @connection', async () => {
    const { environment, dispose } = relay(t.store.adminKey);
    try {
      for (const [dir, filter] of [
        ['forward', { search: TAG }],
        ['backward', { search: TAG, active: true }],
      ] as const) {
        const vars = dir === 'forward' ? { first: 3, filter } : { last: 3, filter };
        environment.retain(createOperationDescriptor(RelayProductsQuery, vars));
        await fetchQuery(environment, RelayProductsQuery, vars).toPromise();
        let conn = connectionOf(environment, vars);
        expect(conn.edges.map((e) => e.node.name)).toEqual(dir === 'forward' ? names.slice(0, 3) : names.slice(-3));
        // loadNext / loadPrevious: the pagination query with the connection's end / start cursor.
        while (dir === 'forward' ? conn.pageInfo.hasNextPage : conn.pageInfo.hasPreviousPage) {
          const page =
            dir === 'forward'
              ? { first: 3, after: conn.pageInfo.endCursor, filter }
              : { last: 3, before: conn.pageInfo.startCursor, filter };
          await fetchQuery(environment, RelayProductsPaginationQuery, page).toPromise();
          conn = connectionOf(environment, vars);
        }
        expect(conn.edges.map((e) => e.node.name)).toEqual(names);
      }
    } finally {
      await dispose();
    }
  });

  test('a mutation updates the store; a subscription delivers events', async () => {
    const { environment, dispose } = relay(t.store.adminKey);
    try {
      const operation = createOperationDescriptor(RelayProductQuery, { id: product.id });
      environment.retain(operation);
      await fetchQuery(environment, RelayProductQuery, { id: product.id }).toPromise();
      await new Promise<void>((resolve, reject) =>
        commitMutation(environment, {
          mutation: RelayRenameMutation,
          variables: { id: product.id, name: 'Renamed by Relay' },
          onCompleted: () => resolve(),
          onError: reject,
        }),
      );
      expect((environment.lookup(operation.fragment).data as any).product.name).toBe('Renamed by Relay');

      const events: any[] = [];
      const sub = requestSubscription(environment, {
        subscription: RelayChangedSubscription,
        variables: { after: '0', filter: { skus: [product.sku] } },
        onNext: (d) => events.push(d),
      });
      await setStock(t.gql, product.sku, warehouseCode, 55);
      await until(() => events.some((e) => e.inventoryChanged.after.onHand === 55));
      sub.dispose();
    } finally {
      await dispose();
    }
  });

  test('a storefront query with a publishable key', async () => {
    const { environment, dispose } = relay(pk);
    try {
      const vars = { first: 2, filter: { search: TAG } };
      environment.retain(createOperationDescriptor(RelayProductsQuery, vars));
      await fetchQuery(environment, RelayProductsQuery, vars).toPromise();
      expect(connectionOf(environment, vars).edges.map((e) => e.node.name)).toEqual(names.slice(0, 2));
    } finally {
      await dispose();
    }
  });

  async function nodeRefetch(key: string) {
    const { environment, dispose } = relay(key);
    try {
      const d: any = await fetchQuery(environment, RelayProductRefetchQuery, { id: product.id }).toPromise();
      const fragment = environment.lookup(getSelector(RelayProductFragment, d.node) as never).data as any;
      expect(fragment).toMatchObject({ id: product.id, totalAvailable: expect.any(Number) });
    } finally {
      await dispose();
    }
  }
  test('a node refetch (@refetchable on Product, node(id:)) with a secret key', () => nodeRefetch(t.store.adminKey));
  // node(id:) answers publishable keys under the same public-field rules as every other path.
  test('a node refetch with a publishable key', () => nodeRefetch(pk));
});
