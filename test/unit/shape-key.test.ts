/**
 * The shape key of shared subscriptions (src/graphql/shared-subscriptions.ts): subscribers with the
 * same key share one execution per event, so the key must differ whenever a result could differ
 * (document, operation, variables used below the root field, store, key kind and scopes), and must
 * not differ for what only chooses WHICH events a subscriber gets (the root field's arguments).
 */
import { parse, type ExecutionArgs } from 'graphql';
import { shapeKey } from '../../src/graphql/subscription-shape';
import type { AuthInfo } from '../../src/graphql/scopes';

const DOC = `subscription S($f: InventoryEventFilter, $after: String, $v: Boolean!, $n: Int) {
  inventoryChanged(filter: $f, after: $after) { cursor variant @include(if: $v) { sku } levels: inventoryLevel { id } } }`;

const auth = (o: Partial<AuthInfo> = {}): AuthInfo => ({
  keyId: 'k1',
  storeId: 'store-1',
  kind: 'sk',
  scopes: ['inventory:read', 'catalog:read'],
  actor: 'key:k1',
  ...o,
});
const key = (doc: string, variableValues: Record<string, unknown>, a: AuthInfo | null = auth(), operationName?: string) =>
  shapeKey({ schema: undefined as never, document: parse(doc), variableValues, operationName } as ExecutionArgs, a);

test("the root field's own arguments (filter, after) do not change the shape", () => {
  const base = key(DOC, { f: { skus: ['A'] }, after: '0', v: true });
  expect(key(DOC, { f: { skus: ['B', 'C'] }, after: '42', v: true })).toBe(base);
  expect(key(DOC, { v: true })).toBe(base);
});

test('a variable used below the root field changes the shape, by value; absent differs from null', () => {
  const t = key(DOC, { v: true });
  expect(key(DOC, { v: false })).not.toBe(t);
  expect(key(DOC, { v: true })).toBe(t);
  // $n is declared but used nowhere: it does not matter.
  expect(key(DOC, { v: true, n: 5 })).toBe(t);
  const used = `subscription($x: Boolean) { inventoryChanged { cursor variant @include(if: $x) { sku } } }`;
  expect(key(used, {})).not.toBe(key(used, { x: null }));
});

test('a variable used both in a root argument and below it counts (it is used below)', () => {
  const doc = `subscription($a: String) { inventoryChanged(after: $a) { cursor variant { product { variants(first: 1, after: $a) { nodes { sku } } } } } }`;
  expect(key(doc, { a: '1' })).not.toBe(key(doc, { a: '2' }));
});

test('variables used in fragments and in directives on the root field count', () => {
  const frag = `subscription($v: Boolean!) { inventoryChanged { ...F } } fragment F on InventoryChangedEvent { cursor variant @include(if: $v) { sku } }`;
  expect(key(frag, { v: true })).not.toBe(key(frag, { v: false }));
  const onRoot = `subscription($v: Boolean!) { inventoryChanged @include(if: $v) { cursor } }`;
  expect(key(onRoot, { v: true })).not.toBe(key(onRoot, { v: false }));
});

test('the document text and the operation name are part of the shape', () => {
  const t = key(DOC, { v: true });
  expect(key(DOC.replace('cursor', 'cursor '), { v: true })).not.toBe(t);
  const two = `subscription A { inventoryChanged { cursor } } subscription B { stockStatusChanged { cursor } }`;
  expect(key(two, {}, auth(), 'A')).not.toBe(key(two, {}, auth(), 'B'));
  expect(key(two, {}, auth(), 'A')).toBe(key(two, {}, auth(), 'A'));
});

test('store, key kind and scopes are part of the shape; scope order and the key itself are not', () => {
  const t = key(DOC, { v: true });
  expect(key(DOC, { v: true }, auth({ storeId: 'store-2' }))).not.toBe(t);
  expect(key(DOC, { v: true }, auth({ kind: 'pk' }))).not.toBe(t);
  expect(key(DOC, { v: true }, auth({ scopes: ['inventory:read'] }))).not.toBe(t);
  expect(key(DOC, { v: true }, auth({ scopes: ['catalog:read', 'inventory:read'] }))).toBe(t);
  // Nothing reachable from a subscription reads the key id or the actor: another key of the same
  // store, kind and scopes shares the shape.
  expect(key(DOC, { v: true }, auth({ keyId: 'k2', actor: 'key:k2' }))).toBe(t);
  expect(key(DOC, { v: true }, null)).not.toBe(t);
});
