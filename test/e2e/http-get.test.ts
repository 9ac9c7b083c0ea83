/**
 * GET requests: Apollo's CSRF prevention accepts a GET carrying Authorization (as urql and
 * graphql-request send it, with no content-type and no Apollo header) and still refuses one
 * carrying none of the listed headers (a plain curl, or a cross-site <img>/<form>).
 */
import { stockedSku } from '../helpers/factories';
import { startTestServer, type TestServer } from '../helpers/server';

jest.setTimeout(60_000);

let t: TestServer;
let sku: string;
beforeAll(async () => {
  t = await startTestServer();
  sku = (await stockedSku(t.gql, 3)).sku;
});
afterAll(async () => {
  await t?.stop();
});

const get = (query: string, headers: Record<string, string>, variables?: unknown) => {
  const u = new URL(t.url);
  u.searchParams.set('query', query);
  if (variables) u.searchParams.set('variables', JSON.stringify(variables));
  return fetch(u, { headers });
};
const Q = 'query($sku: String!) { variant(sku: $sku) { sku totalAvailable } }';

test('a GET with only Authorization (and Accept) runs the query', async () => {
  const auth = { authorization: `Bearer ${t.store.adminKey}` };
  for (const headers of [auth, { ...auth, accept: 'application/graphql-response+json, application/json' }, { ...auth, accept: '*/*' }]) {
    const r = await get(Q, headers, { sku });
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ data: { variant: { sku, totalAvailable: 3 } } });
  }
});

test('a GET without authorization, apollo-require-preflight or x-apollo-operation-name is refused as CSRF; with one of them it passes', async () => {
  const plain = await get('{ __typename }', {});
  expect(plain.status).toBe(400);
  expect(await plain.text()).toMatch(/Cross-Site Request Forgery.*authorization, x-apollo-operation-name, apollo-require-preflight/s);
  const empty = await get('{ __typename }', { authorization: '' });
  expect(empty.status).toBe(400);
  for (const h of [{ 'apollo-require-preflight': 'true' }, { 'x-apollo-operation-name': 'Q' }] as Record<string, string>[]) {
    const r = await get('{ __typename }', h);
    expect(r.status).toBe(200);
  }
  // A wrong key passes the CSRF check and is refused as unauthenticated.
  const wrong = await get(Q, { authorization: 'Bearer sk_nope' }, { sku });
  expect(wrong.status).toBe(401);
});

test('mutations are still refused over GET, and a form-encoded POST still needs one of the headers', async () => {
  const m = await get(`mutation { inventorySet(input: { sku: "${sku}", warehouseCode: "X", quantity: 1 }) { userErrors { code } } }`, {
    authorization: `Bearer ${t.store.adminKey}`,
  });
  expect(m.status).toBe(405);
  const form = await fetch(t.url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'query=%7B__typename%7D',
  });
  expect(form.status).toBe(400);
  expect(await form.text()).toMatch(/Cross-Site Request Forgery/);
});
