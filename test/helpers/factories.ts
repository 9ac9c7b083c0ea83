/** Test data: stores with keys, warehouses, products and stock. */
import crypto from 'node:crypto';
import type { App } from '../../src/app';
import { createApiKey } from '../../src/modules/auth/keys.service';
import { ok, type GqlClient } from './gql';

export interface TestStore {
  storeId: string;
  code: string;
  adminKey: string;
  keyWith(scopes: string[]): Promise<string>;
  publishableKey(): Promise<string>;
}

export async function createTestStore(app: App, code = `s_${crypto.randomBytes(4).toString('hex')}`): Promise<TestStore> {
  const store = await app.db.prisma.store.create({ data: { code, name: `Store ${code}` } });
  const admin = await createApiKey(app.db.prisma, { storeId: store.id, kind: 'sk', scopes: ['admin'] });
  return {
    storeId: store.id,
    code,
    adminKey: admin.key,
    keyWith: async (scopes) => (await createApiKey(app.db.prisma, { storeId: store.id, kind: 'sk', scopes })).key,
    publishableKey: async () => (await createApiKey(app.db.prisma, { storeId: store.id, kind: 'pk' })).key,
  };
}

let seq = 0;
export const uniq = (p: string) => `${p}-${process.pid}-${++seq}-${crypto.randomBytes(2).toString('hex')}`;

export async function createWarehouse(gql: GqlClient, input: Record<string, unknown> = {}) {
  const code = (input.code as string) ?? uniq('WH');
  const d = await ok(
    gql(
      `mutation($input: WarehouseInput!) { warehouseCreate(input: $input) { warehouse { id code readOnly } userErrors { code message } } }`,
      {
        input: { code, name: `Warehouse ${code}`, ...input },
      },
    ),
  );
  if (d.warehouseCreate.userErrors.length) throw new Error(JSON.stringify(d.warehouseCreate.userErrors));
  return d.warehouseCreate.warehouse as { id: string; code: string; readOnly: boolean };
}

export async function createProduct(gql: GqlClient, opts: { skus?: string[]; externalId?: string; labels?: string[] } = {}) {
  const skus = opts.skus ?? [uniq('SKU')];
  const d = await ok(
    gql(
      `mutation($input: ProductCreateInput!) { productCreate(input: $input) { product { id externalId } userErrors { code message } } }`,
      {
        input: {
          name: `Product ${skus[0]}`,
          externalId: opts.externalId ?? uniq('EXT'),
          variants: skus.map((sku, i) => ({ sku, label: opts.labels?.[i] ?? `V${i}` })),
        },
      },
    ),
  );
  if (d.productCreate.userErrors.length) throw new Error(JSON.stringify(d.productCreate.userErrors));
  return { ...(d.productCreate.product as { id: string; externalId: string }), skus };
}

export const LEVEL_FIELDS = `id onHand reserved available incoming safetyStock status version lowStockThreshold criticalThreshold`;

export async function setStock(gql: GqlClient, sku: string, warehouseCode: string, quantity: number) {
  const d = await ok(
    gql(
      `mutation($input: InventorySetInput!) { inventorySet(input: $input) { inventoryLevel { ${LEVEL_FIELDS} } userErrors { code message } } }`,
      {
        input: { sku, warehouseCode, quantity, reason: 'RECEIVED' },
      },
    ),
  );
  if (d.inventorySet.userErrors.length) throw new Error(JSON.stringify(d.inventorySet.userErrors));
  return d.inventorySet.inventoryLevel as {
    id: string;
    onHand: number;
    reserved: number;
    available: number;
    status: string;
    version: number;
  };
}

/** One warehouse + one single-variant product with `quantity` on hand. */
export async function stockedSku(gql: GqlClient, quantity: number, warehouse?: { code: string }) {
  const wh = warehouse ?? (await createWarehouse(gql));
  const p = await createProduct(gql);
  const level = await setStock(gql, p.skus[0], wh.code, quantity);
  return { sku: p.skus[0], warehouseCode: wh.code, level, product: p };
}
